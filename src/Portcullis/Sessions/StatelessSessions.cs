using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
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
/// <c>Session:Mode</c> <c>stateless</c> (ADR 0033): the session and its tokens live only in the browser's cookies,
/// sealed by <see cref="StatelessCookieCodec"/>. The session cookie (<c>Session:CookieName</c>, chunked when large)
/// holds the session's data and its tokens without the refresh token; the refresh token has a cookie of its own,
/// <c>__Secure-portcullis-rt</c>, written once per path that can need it: each API route that sends the user's token
/// and <c>{BasePath}/logout</c>. <see cref="SessionService"/> and <see cref="SessionTokens"/> call in here, so the
/// endpoints and the proxy are the same in every mode.
/// </summary>
internal sealed class StatelessSessions(
    StatelessCookieCodec codec,
    StatelessRefresh refresh,
    ProviderRegistry providers,
    RevocationService revocations,
    ReloadableOptions reloadable,
    AuditLog audit,
    PortcullisMetrics metrics,
    IOptions<PortcullisOptions> options,
    TimeProvider time,
    ILogger<StatelessSessions> logger)
{
    public const string RefreshCookieName = "__Secure-portcullis-rt";

    // As in server mode: sliding the expiry on every request would rewrite the cookie on every API call.
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);

    private readonly SessionOptions _options = options.Value.Session;
    private readonly string _cookieName = options.Value.Session.CookieName;

    /// <summary>How long after it was written a session cookie is accepted (<c>Session:MaxCookieAge</c>, at most <c>IdleTimeout</c>).</summary>
    private readonly TimeSpan _maxAge = options.Value.Session.MaxCookieAge is { } maxAge && maxAge < options.Value.Session.IdleTimeout
        ? maxAge
        : options.Value.Session.IdleTimeout;

    public void SignIn(AuthenticatedLogin login, HttpContext context, SessionAnomalyDetector anomalies)
    {
        var now = time.GetUtcNow();
        var userId = UserIdOf(login.Provider, login.Subject);
        // Binds the refresh cookie to this session cookie; nothing else knows it.
        var grantId = Identifiers.NewId();
        var data = new SessionData(userId, grantId, login.Subject, login.Claims, SessionAnomalyDetector.UserAgentOf(context))
        {
            ClientNetwork = anomalies.ClientNetworkOf(context),
            AuthTime = login.AuthTime is { } authTime ? DateTimeOffset.FromUnixTimeSeconds(authTime) : null,
            Acr = login.Acr,
        };
        var notAfter = now + _options.AbsoluteTimeout;
        if (login.Tokens.RefreshTokenExpiresAt is { } refreshTokenExpiresAt && refreshTokenExpiresAt < notAfter)
        {
            notAfter = refreshTokenExpiresAt;
        }

        var payload = new StatelessSessionPayload(data, login.Tokens with { RefreshToken = null }, now, notAfter)
        {
            Handle = Identifiers.NewId(),
            Provider = login.Provider,
            ProviderSessionId = login.ProviderSessionId,
            CreatedAt = now,
        };
        var state = StatelessRequest.Of(context);
        state.RefreshToken = login.Tokens.RefreshToken;
        state.Rewrite(context, payload, Write, refreshToo: login.Tokens.RefreshToken is not null);
        metrics.SessionCreated(login.Provider);
        Log.LoginCompleted(logger, userId, login.Provider);
    }

    /// <summary>The request's session from its cookie; null when absent, refused (changed, foreign, truncated) or too old.</summary>
    public CurrentSession? Resolve(HttpContext context)
    {
        var value = codec.Read(context, _cookieName);
        if (value is null)
        {
            return null;
        }

        var payload = codec.Open(_cookieName, value, StatelessJsonContext.Default.StatelessSessionPayload);
        if (payload is null)
        {
            Log.StatelessCookieRefused(logger);
            return null;
        }

        var now = time.GetUtcNow();
        var age = now - payload.IssuedAt;
        if (age >= _maxAge || now >= payload.NotAfter)
        {
            Log.StatelessCookieExpired(logger, payload.Data.UserId, age, _maxAge);
            return null;
        }

        var state = StatelessRequest.Of(context);
        state.Payload = payload;
        if (age >= TouchInterval && Slides(payload.Tokens, now))
        {
            state.Rewrite(context, payload with { IssuedAt = now }, Write);
        }

        return SessionOf(state.Payload);
    }

    /// <summary>
    /// Sliding expiry only while the access token is known to be alive: past it, only a refresh (which needs a refresh
    /// token the provider still honours) writes a new cookie. Without a known expiry (no <c>expires_in</c>) the cookie is
    /// not slid at all and dies MaxCookieAge after it was written. A copy replayed after logout therefore dies
    /// MaxCookieAge after its access token (or after it was written) at the latest, however often it is used (ADR 0033).
    /// </summary>
    internal static bool Slides(TokenSet tokens, DateTimeOffset now) => tokens.AccessTokenExpiresAt is { } expiresAt && expiresAt > now;

    /// <summary>The tokens the request's session holds now (without the refresh token).</summary>
    public static TokenSet? TokensOf(HttpContext context) => StatelessRequest.Of(context).Payload?.Tokens;

    public Task<Outcome<string>> GetAccessTokenAsync(HttpContext context, CancellationToken cancellationToken) =>
        RefreshIfNeededAsync(context, rejected: null, cancellationToken);

    public Task<Outcome<string>> RefreshRejectedAsync(HttpContext context, string rejectedAccessToken, CancellationToken cancellationToken) =>
        RefreshIfNeededAsync(context, rejectedAccessToken, cancellationToken);

    private async Task<Outcome<string>> RefreshIfNeededAsync(HttpContext context, string? rejected, CancellationToken cancellationToken)
    {
        var state = StatelessRequest.Of(context);
        if (state.Payload is not { } payload)
        {
            return PortcullisError.Unauthenticated;
        }

        var tokens = payload.Tokens;
        if (tokens.AccessToken != rejected && refresh.IsFresh(tokens))
        {
            return tokens.AccessToken;
        }

        var refused = false;
        var refreshToken = state.RefreshToken ??= ReadRefreshToken(context, payload, out refused);
        if (refreshToken is null)
        {
            Log.StatelessRefreshCookieAbsent(logger, payload.Data.UserId, payload.Provider, context.Request.Path.Value ?? "");
            if (tokens.AccessToken != rejected && tokens.AccessTokenExpiresAt > time.GetUtcNow())
            {
                return tokens.AccessToken; // usable until it really expires
            }

            // Only refresh cookies that are not this session's (a sibling subdomain can set one for the parent domain):
            // 401 without expiring anything, so a planted cookie cannot end the session (ADR 0033).
            if (!refused)
            {
                state.Expire(context, Write);
            }

            return PortcullisError.ReauthenticationRequired;
        }

        var result = await refresh.RefreshAsync(payload.Provider, payload.Data.UserId, tokens with { RefreshToken = refreshToken }, cancellationToken);
        if (result.Value is { } refreshed)
        {
            var rotated = refreshed.RefreshToken != refreshToken;
            state.RefreshToken = refreshed.RefreshToken;
            state.Rewrite(context, payload with { Tokens = refreshed with { RefreshToken = null }, IssuedAt = time.GetUtcNow() }, Write, refreshToo: rotated);
            return refreshed.AccessToken;
        }

        var error = result.Error!;
        if (error == PortcullisError.ReauthenticationRequired)
        {
            metrics.SessionsEnded(SessionEndReasons.Reauthentication);
            state.Expire(context, Write);
            return error;
        }

        // The provider could not be asked: the access token is used while it is still valid (SECURITY.md item 27).
        return tokens.AccessToken != rejected && tokens.AccessTokenExpiresAt > time.GetUtcNow() ? tokens.AccessToken : error;
    }

    /// <summary>
    /// Logout: revokes the refresh token (or, without one on this path, the access token) at the provider now, since
    /// there is no outbox to retry from, and expires every cookie and chunk. A failed revocation is logged (6008).
    /// </summary>
    public async Task LogoutAsync(HttpContext context, CurrentSession session)
    {
        var state = StatelessRequest.Of(context);
        state.Expire(context, Write);
        metrics.SessionsEnded(SessionEndReasons.Logout);
        if (state.Payload is not { } payload || providers.Find(payload.Provider) is not { } provider)
        {
            return;
        }

        var refreshToken = state.RefreshToken ?? ReadRefreshToken(context, payload, out _);
        if (refreshToken is not null)
        {
            await refresh.ForgetAsync(refreshToken);
        }

        var result = refreshToken is null ? RevocationResult.NotSupported : await revocations.RevokeAsync(provider, refreshToken, "refresh_token", CancellationToken.None);
        if (result == RevocationResult.NotSupported)
        {
            result = await revocations.RevokeAsync(provider, payload.Tokens.AccessToken, "access_token", CancellationToken.None);
        }

        if (result != RevocationResult.Revoked)
        {
            Log.StatelessRevocationNotRetried(logger, payload.Data.UserId, payload.Provider, result.ToString());
        }

        await audit.RecordAsync(AuditEvents.Logout, AuditOutcomes.Success, payload.Data.UserId, payload.Provider, session.Record.Handle,
            detail: result == RevocationResult.Revoked ? "revoked" : $"revocation {result}, not retried (stateless)");
    }

    /// <summary>Expires every stateless cookie this request carries (an anomaly, a logout without a session).</summary>
    public void Expire(HttpContext context) => StatelessRequest.Of(context).Expire(context, Write);

    /// <summary>
    /// A stable id for the person without a user store: a hash of provider and subject. Linking identities needs the
    /// store, so in stateless mode a person signed in with two providers is two users.
    /// </summary>
    private static string UserIdOf(string provider, string subject) =>
        "sl-" + WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.UTF8.GetBytes(provider + "\n" + subject)))[..32];

    private CurrentSession SessionOf(StatelessSessionPayload payload)
    {
        var idleExpiresAt = payload.IssuedAt + _maxAge;
        var record = new SessionRecord(
            Identifiers.Hash(payload.Data.GrantId),
            payload.Handle,
            payload.Data.UserId,
            payload.Data.GrantId,
            payload.Provider,
            payload.ProviderSessionId,
            [],
            payload.CreatedAt,
            payload.IssuedAt,
            idleExpiresAt < payload.NotAfter ? idleExpiresAt : payload.NotAfter,
            payload.NotAfter);
        return new CurrentSession(record, payload.Data, null) { Stateless = true };
    }

    /// <summary>
    /// The refresh token of the request's cookie when it belongs to this session and has not passed its end. A sibling
    /// subdomain can add a cookie of the same name (Domain=parent); the request then carries several values and
    /// <c>Request.Cookies</c> keeps only one, so every value in the raw header is tried. <paramref name="refused"/>: a
    /// refresh cookie was present but none of its values is this session's.
    /// </summary>
    private string? ReadRefreshToken(HttpContext context, StatelessSessionPayload payload, out bool refused)
    {
        refused = false;
        var candidates = RawCookieValues(context, RefreshCookieName)
            .Select(value => value.StartsWith("chunks-", StringComparison.Ordinal) ? codec.Read(context, RefreshCookieName) : value)
            .Prepend(codec.Read(context, RefreshCookieName))
            .OfType<string>()
            .Distinct(StringComparer.Ordinal);
        foreach (var value in candidates)
        {
            var cookie = codec.Open(RefreshCookieName, value, StatelessJsonContext.Default.StatelessRefreshPayload);
            if (cookie is not null && cookie.GrantId == payload.Data.GrantId && cookie.NotAfter > time.GetUtcNow())
            {
                return cookie.RefreshToken;
            }

            refused = true;
        }

        if (refused)
        {
            Log.StatelessRefreshCookieRefused(logger, payload.Data.UserId);
        }

        return null;
    }

    /// <summary>Every value the request's <c>Cookie</c> headers carry for <paramref name="name"/>, in order.</summary>
    private static IEnumerable<string> RawCookieValues(HttpContext context, string name)
    {
        foreach (var header in context.Request.Headers.Cookie)
        {
            foreach (var part in (header ?? "").Split(';'))
            {
                var pair = part.Trim();
                if (pair.Length > name.Length && pair[name.Length] == '=' && pair.StartsWith(name, StringComparison.Ordinal))
                {
                    yield return pair[(name.Length + 1)..];
                }
            }
        }
    }

    /// <summary>Writes what the request decided, when its response starts.</summary>
    private void Write(HttpContext context, StatelessRequest state)
    {
        if (state.Clear || (state.Payload is not null && (state.WriteSession || state.WriteRefresh)))
        {
            // These cookies carry the user's sealed tokens (or end the session): no cache may keep the answer for anyone
            // else, whatever Cache-Control a proxied upstream sent (it was copied before the response started).
            ResponseCaching.Forbid(context.Response);
        }

        if (state.Clear)
        {
            codec.Delete(context, _cookieName, SessionCookieOptions(null));
            // Shortest first: expiring a path also drops the earlier Set-Cookie of any path it is a prefix of
            // (/api/orders of /api/orders-archive; ChunkingCookieManager matches "path=" + path as a substring).
            foreach (var path in RefreshCookiePaths().OrderBy(path => path.Length))
            {
                codec.Delete(context, RefreshCookieName, RefreshCookieOptions(path, null));
            }

            return;
        }

        if (state.Payload is not { } payload)
        {
            return;
        }

        var now = time.GetUtcNow();
        if (state.WriteSession)
        {
            var lifetime = Min(payload.IssuedAt + _maxAge, payload.NotAfter) - now;
            codec.Append(context, _cookieName, codec.Seal(_cookieName, payload, StatelessJsonContext.Default.StatelessSessionPayload), SessionCookieOptions(lifetime));
        }

        if (state.WriteRefresh && state.RefreshToken is { } refreshToken)
        {
            var sealedValue = codec.Seal(RefreshCookieName, new StatelessRefreshPayload(refreshToken, payload.Data.GrantId, payload.NotAfter), StatelessJsonContext.Default.StatelessRefreshPayload);
            // Every copy: a response may set cookies for other paths of its own host.
            foreach (var path in RefreshCookiePaths())
            {
                codec.Append(context, RefreshCookieName, sealedValue, RefreshCookieOptions(path, payload.NotAfter - now));
            }
        }
    }

    /// <summary>
    /// Where a request can need the refresh token: the API routes that send the user's token (a refresh) and the logout
    /// endpoint (its revocation). Page loads, static files, <c>/bff/user</c> and the login endpoints never carry it.
    /// </summary>
    private IEnumerable<string> RefreshCookiePaths()
    {
        var current = reloadable.Current;
        return current.Apis.Values
            .Where(api => api.Token is ApiTokenModes.User or ApiTokenModes.UserOptional && api.Path is { Length: > 0 })
            .Select(api => api.Path!.TrimEnd('/') is { Length: > 0 } path ? path : "/")
            .Append(current.BasePath.TrimEnd('/') + "/logout")
            .Distinct(StringComparer.Ordinal);
    }

    private static CookieOptions SessionCookieOptions(TimeSpan? maxAge) => new()
    {
        HttpOnly = true,
        Secure = true,
        SameSite = SameSiteMode.Strict,
        Path = "/",
        MaxAge = maxAge,
        IsEssential = true,
    };

    // __Secure- rather than __Host-: the prefix __Host- demands Path=/ (ADR 0033 weighs the difference).
    private static CookieOptions RefreshCookieOptions(string path, TimeSpan? maxAge) => new()
    {
        HttpOnly = true,
        Secure = true,
        SameSite = SameSiteMode.Strict,
        Path = path,
        MaxAge = maxAge,
        IsEssential = true,
    };

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
