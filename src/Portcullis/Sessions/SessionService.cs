using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Audit;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Primitives;
using Portcullis.Storage;
using Portcullis.Tokens;
using Portcullis.Vault;

namespace Portcullis.Sessions;

/// <summary>
/// Creates, resolves and ends server-side sessions. The browser holds only a random identifier (in split-key mode, that
/// identifier and the session's data key, ADR 0032); the store only the identifier's hash.
/// </summary>
internal sealed class SessionService(
    ISessionStore store,
    IUserStore users,
    SessionCookies cookies,
    GrantService grants,
    RecordProtector<SessionData> dataProtector,
    AuditLog audit,
    SessionAnomalyDetector anomalies,
    SessionTermination termination,
    SessionKeyMemo keys,
    StatelessSessions stateless,
    EmailLookupHasher emailHasher,
    PortcullisMetrics metrics,
    IOptions<PortcullisOptions> options,
    TimeProvider time,
    ILogger<SessionService> logger)
{

    // Writing "last seen" on every request would turn every API call into a store write; sliding by this step is enough.
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);

    private readonly SessionOptions _options = options.Value.Session;

    // Chosen once: server mode's path stays what it was (ADR 0032).
    private readonly bool _splitKey = options.Value.Session.Mode == SessionModes.SplitKey;

    /// <summary>No store: sessions live in the browser's cookies (ADR 0033).</summary>
    public bool Stateless { get; } = options.Value.Session.Mode == SessionModes.Stateless;

    private static readonly SessionKeyProtector<SessionData> SplitKeyData = new(ProtectionPurposes.SplitKeySessionData, SessionsJsonContext.Default.SessionData);

    /// <summary>
    /// Stores the login's tokens in the user's grant, creates a session and writes its cookie. A login that links a new
    /// identity adds it to the user who asked (only while that user's session is alive) and replaces that session; an
    /// identity that belongs to someone else is never moved. Stateless: the session and its tokens go into the cookies.
    /// </summary>
    public async Task<PortcullisError?> SignInAsync(AuthenticatedLogin login, HttpContext context, CancellationToken cancellationToken)
    {
        if (Stateless)
        {
            // Linking is refused before a stateless login starts (it needs the user store).
            stateless.SignIn(login, context, anomalies);
            return null;
        }

        var now = time.GetUtcNow();
        string userId;
        string? replacedSessionKey = null;
        if (login.LinkUserId is { } linkUserId)
        {
            var (refusal, asking) = await LinkAsync(login, linkUserId, now, cancellationToken);
            if (refusal is not null)
            {
                return refusal;
            }

            userId = linkUserId;
            replacedSessionKey = asking;
        }
        else
        {
            userId = (await users.GetOrCreateUserAsync(login.Provider, login.Subject, now, cancellationToken)).Id;
        }

        // Every login refreshes the identity's e-mail hash (the address may have changed, or the master key rotated).
        await users.SetIdentityEmailHashAsync(login.Provider, login.Subject, emailHasher.Hash(LookupEmailOf(login.Claims)), cancellationToken);

        // Split-key: the session's own key, drawn first, seals its grant and its data (ADR 0032).
        var splitKey = _splitKey ? SplitKeyCookieValue.New() : (SplitKeyCookieValue?)null;
        if (splitKey is { } fresh)
        {
            SessionKeyScope.Set(fresh.DataKey);
        }

        var grant = await grants.StoreLoginTokensAsync(userId, login.Provider, login.Tokens, cancellationToken);

        var cookieValue = splitKey?.SessionId ?? Identifiers.NewSecret();
        var key = Identifiers.Hash(cookieValue);
        var data = new SessionData(userId, grant.Id, login.Subject, login.Claims, SessionAnomalyDetector.UserAgentOf(context))
        {
            ClientNetwork = anomalies.ClientNetworkOf(context),
            AuthTime = login.AuthTime is { } authTime ? DateTimeOffset.FromUnixTimeSeconds(authTime) : null,
            Acr = login.Acr,
        };
        // A session is over when no token can be had any more: never later than the refresh token the provider
        // said would stop working (GitHub, Keycloak), whatever Session:AbsoluteTimeout allows.
        var absoluteExpiresAt = login.Tokens.RefreshTokenExpiresAt is { } refreshTokenExpiresAt
            ? Min(now + _options.AbsoluteTimeout, refreshTokenExpiresAt)
            : now + _options.AbsoluteTimeout;
        var handle = Identifiers.NewId();
        await store.CreateSessionAsync(
            new SessionRecord(
                key,
                handle,
                userId,
                grant.Id,
                login.Provider,
                login.ProviderSessionId,
                splitKey is { } sealing ? SplitKeyData.Protect(data, key, sealing.DataKey) : dataProtector.Protect(data, key),
                now,
                now,
                Min(now + _options.IdleTimeout, absoluteExpiresAt),
                absoluteExpiresAt),
            cancellationToken);
        metrics.SessionCreated(login.Provider);
        if (replacedSessionKey is not null)
        {
            // The new session replaces the one that asked for the link, once it exists: a failure before this point
            // leaves the user signed in as they were, not signed out.
            await store.DeleteSessionAsync(replacedSessionKey, cancellationToken);
            metrics.SessionsEnded(SessionEndReasons.Replaced);
        }

        Log.LoginCompleted(logger, userId, login.Provider);
        await audit.RecordAsync(AuditEvents.Login, AuditOutcomes.Success, userId, login.Provider, handle);
        cookies.WriteSession(context.Response, splitKey?.Format() ?? cookieValue);
        return null;
    }

    /// <summary>
    /// The address an operator may find this identity by: the <c>email</c> claim, only when the provider says it is
    /// verified (<c>email_verified</c> true, or the string "true" some providers send). Anyone can type any address at some
    /// providers, and a provider that makes no claim either way vouches for nothing: indexing such an address would let
    /// anyone be found as the real owner, or make the owner's lookup ambiguous (security review finding 6, ADR 0039).
    /// </summary>
    private static string? LookupEmailOf(Dictionary<string, System.Text.Json.JsonElement> claims)
    {
        if (!claims.TryGetValue("email", out var email) || email.ValueKind != System.Text.Json.JsonValueKind.String)
        {
            return null;
        }

        var verified = claims.TryGetValue("email_verified", out var stated)
            && (stated.ValueKind == System.Text.Json.JsonValueKind.True
                || (stated.ValueKind == System.Text.Json.JsonValueKind.String && string.Equals(stated.GetString(), "true", StringComparison.OrdinalIgnoreCase)));
        return verified ? email.GetString() : null;
    }

    /// <summary>
    /// The key of the session that asked (for the new session to replace) when the identity now belongs to
    /// <paramref name="userId"/>; otherwise why it was not linked.
    /// </summary>
    private async Task<(PortcullisError? Refusal, string? AskingSessionKey)> LinkAsync(AuthenticatedLogin login, string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // The session that asked must still be alive: a logout (or expiry) in between cancels the link.
        var asking = login.LinkSessionKey is { } sessionKey ? await store.GetSessionAsync(sessionKey, now, cancellationToken) : null;
        if (asking is null || asking.UserId != userId)
        {
            Log.IdentityLinkRefused(logger, login.Provider, userId, "the session that asked for the link has ended");
            return (PortcullisError.LoginFailed("The session that asked to link this account has ended. Sign in and try again."), null);
        }

        var result = await users.LinkIdentityAsync(userId, login.Provider, login.Subject, now, cancellationToken);
        if (result == IdentityLinkResult.BelongsToAnotherUser)
        {
            Log.IdentityLinkRefused(logger, login.Provider, userId, "the identity belongs to another user");
            return (PortcullisError.LoginFailed("This account already belongs to another user of this site, so it was not linked."), null);
        }

        Log.IdentityLinked(logger, login.Provider, userId);
        return (null, asking.Key);
    }

    /// <summary>The request's session, or null when the cookie is absent, malformed, unknown, expired or undecryptable.</summary>
    public async ValueTask<CurrentSession?> ResolveAsync(HttpContext context)
    {
        if (SessionFeature.Of(context) is { } resolved)
        {
            return resolved.Session;
        }

        var session = Stateless ? stateless.Resolve(context) : await LoadAsync(cookies.ReadSession(context.Request), context.RequestAborted);
        PortcullisError? refusal = null;
        if (session is not null && anomalies.Check(context, session) is { } anomaly)
        {
            if (session.Stateless)
            {
                stateless.Expire(context);
                metrics.SessionsEnded(SessionEndReasons.Anomaly);
            }
            else
            {
                await termination.EndForAnomalyAsync(session.Record, anomaly.Code);
            }

            refusal = anomaly;
            session = null;
        }

        new SessionFeature { Session = session, Refusal = refusal }.AttachTo(context);
        return session;
    }

    /// <summary>
    /// Null when the mode keeps sessions on the server; in stateless mode the 400 for <paramref name="feature"/>, which
    /// needs them (session list, log out everywhere, back-channel logout, linking): refused out loud, never skipped.
    /// </summary>
    public PortcullisError? RefuseWhenStateless(string feature)
    {
        if (!Stateless)
        {
            return null;
        }

        Log.StatelessFeatureRefused(logger, feature);
        return PortcullisError.NeedsServerSessions(feature);
    }

    /// <summary>Drops the request's resolved session after it has been ended, so nothing later in the request uses it.</summary>
    public void Forget(HttpContext context)
    {
        if (cookies.ReadSession(context.Request) is { } cookieValue)
        {
            keys.Forget(cookieValue);
        }

        if (SessionFeature.Of(context) is { } resolved)
        {
            resolved.Session = null;
        }
        else
        {
            new SessionFeature().AttachTo(context);
        }
    }

    /// <summary>The data of another of the user's sessions, for listing it; null when it does not decrypt.</summary>
    public SessionData? ReadData(SessionRecord record) => dataProtector.Unprotect(record.Data, record.Key);

    /// <summary>Why the request has no session: <c>unauthenticated</c>, or what an anomaly check answered.</summary>
    public static PortcullisError RefusalFor(HttpContext context) =>
        SessionFeature.Of(context)?.Refusal ?? PortcullisError.Unauthenticated;

    private async ValueTask<CurrentSession?> LoadAsync(string? cookieValue, CancellationToken cancellationToken)
    {
        // A split-key cookie; any other shape is read as server mode's (sessions from before the switch keep working).
        if (_splitKey && SplitKeyCookieValue.TryParse(cookieValue, out var splitKey))
        {
            return await LoadSplitKeyAsync(splitKey, cancellationToken);
        }

        // Shape check first: truncated, extended or re-encoded values never reach the store.
        if (!Identifiers.IsWellFormedSecret(cookieValue))
        {
            return null;
        }

        var key = keys.KeyOf(cookieValue!, out var remembered);
        var now = time.GetUtcNow();
        // Session and grant in one round trip (none when this node holds a copy): this runs for every API call.
        if (await ReadSessionAndGrantAsync(key, now, cancellationToken) is not (var record, var grant))
        {
            return null;
        }

        if (grant is { SessionKeyed: true })
        {
            // A split-key session's id presented without its key (ADR 0032): refused like a wrong key, nothing touched.
            Log.SplitKeyRefused(logger, record.Handle);
            return null;
        }

        var data = dataProtector.Unprotect(record.Data, key);
        if (data is null || data.UserId != record.UserId || data.GrantId != record.GrantId)
        {
            Log.VaultDecryptFailed(logger, record.Handle);
            return null;
        }

        if (!remembered)
        {
            keys.Remember(cookieValue!);
        }

        return await TouchedAsync(record, data, grant, now, cancellationToken);
    }

    /// <summary>
    /// A split-key session: its data opens only with the cookie's key. A wrong, short or missing key is an unknown
    /// session: nothing is touched or deleted (whoever learns an id must not be able to end the session without its key).
    /// </summary>
    private async ValueTask<CurrentSession?> LoadSplitKeyAsync(SplitKeyCookieValue cookie, CancellationToken cancellationToken)
    {
        var key = Identifiers.Hash(cookie.SessionId);
        var now = time.GetUtcNow();
        if (await ReadSessionAndGrantAsync(key, now, cancellationToken) is not (var record, var grant))
        {
            return null;
        }

        var data = SplitKeyData.Unprotect(record.Data, key, cookie.DataKey);
        if (data is null || data.UserId != record.UserId || data.GrantId != record.GrantId)
        {
            Log.SplitKeyRefused(logger, record.Handle);
            return null;
        }

        SessionKeyScope.Set(cookie.DataKey);
        return await TouchedAsync(record, data, grant, now, cancellationToken);
    }

    /// <summary>The session cache's copy without a task when it has one (the common case), else the store's answer.</summary>
    private ValueTask<SessionAndGrant?> ReadSessionAndGrantAsync(string key, DateTimeOffset now, CancellationToken cancellationToken) =>
        store is SessionCachingStore cache && cache.TryGetCached(key, now, out var cached)
            ? new(cached)
            : new(store.GetSessionAndGrantAsync(key, now, cancellationToken));

    private async ValueTask<CurrentSession?> TouchedAsync(SessionRecord record, SessionData data, GrantRecord? grant, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = record.Key;
        if (now - record.LastSeenAt >= TouchInterval)
        {
            var idleExpiresAt = Min(now + _options.IdleTimeout, record.AbsoluteExpiresAt);
            await store.TouchSessionAsync(key, now, idleExpiresAt, cancellationToken);
            record = record with { LastSeenAt = now, IdleExpiresAt = idleExpiresAt };
        }

        return new CurrentSession(record, data, grant);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
