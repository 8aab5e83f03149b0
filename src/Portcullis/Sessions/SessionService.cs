using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Audit;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Storage;
using Portcullis.Tokens;
using Portcullis.Vault;

namespace Portcullis.Sessions;

/// <summary>Creates, resolves and ends server-side sessions. The browser holds only a random identifier; the store only its hash.</summary>
internal sealed class SessionService(
    IPortcullisStore store,
    SessionCookies cookies,
    GrantService grants,
    RecordProtector<SessionData> dataProtector,
    AuditLog audit,
    IOptions<PortcullisOptions> options,
    TimeProvider time,
    ILogger<SessionService> logger)
{
    private static readonly object CurrentSessionKey = new();

    // Writing "last seen" on every request would turn every API call into a store write; sliding by this step is enough.
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);

    private readonly SessionOptions _options = options.Value.Session;

    /// <summary>Stores the login's tokens in the user's grant, creates a session and returns the cookie value for it.</summary>
    public async Task<string> SignInAsync(AuthenticatedLogin login, string? userAgent, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var user = await store.GetOrCreateUserAsync(login.Provider, login.Subject, now, cancellationToken);
        var grant = await grants.StoreLoginTokensAsync(user.Id, login.Provider, login.Tokens, cancellationToken);

        var cookieValue = Identifiers.NewSecret();
        var key = Identifiers.Hash(cookieValue);
        var data = new SessionData(user.Id, grant.Id, login.Subject, login.Claims, Truncate(userAgent, 256));
        var handle = Identifiers.NewId();
        await store.CreateSessionAsync(
            new SessionRecord(
                key,
                handle,
                user.Id,
                grant.Id,
                login.Provider,
                login.ProviderSessionId,
                dataProtector.Protect(data, key),
                now,
                now,
                now + _options.IdleTimeout,
                now + _options.AbsoluteTimeout),
            cancellationToken);
        Log.LoginCompleted(logger, user.Id, login.Provider);
        await audit.RecordAsync(AuditEvents.Login, AuditOutcomes.Success, user.Id, login.Provider, handle);
        return cookieValue;
    }

    /// <summary>The request's session, or null when the cookie is absent, malformed, unknown, expired or undecryptable.</summary>
    public async Task<CurrentSession?> ResolveAsync(HttpContext context)
    {
        if (context.Items.TryGetValue(CurrentSessionKey, out var cached))
        {
            return (CurrentSession?)cached;
        }

        var session = await LoadAsync(cookies.ReadSession(context.Request), context.RequestAborted);
        context.Items[CurrentSessionKey] = session;
        return session;
    }

    /// <summary>Drops the request's cached session after it has been ended, so nothing later in the request uses it.</summary>
    public void Forget(HttpContext context) => context.Items[CurrentSessionKey] = null;

    /// <summary>The data of another of the user's sessions, for listing it; null when it does not decrypt.</summary>
    public SessionData? ReadData(SessionRecord record) => dataProtector.Unprotect(record.Data, record.Key);

    private async Task<CurrentSession?> LoadAsync(string? cookieValue, CancellationToken cancellationToken)
    {
        // Shape check first: truncated, extended or re-encoded values never reach the store.
        if (!Identifiers.IsWellFormedSecret(cookieValue))
        {
            return null;
        }

        var key = Identifiers.Hash(cookieValue!);
        var now = time.GetUtcNow();
        var record = await store.GetSessionAsync(key, now, cancellationToken);
        if (record is null)
        {
            return null;
        }

        var data = dataProtector.Unprotect(record.Data, key);
        if (data is null || data.UserId != record.UserId || data.GrantId != record.GrantId)
        {
            Log.VaultDecryptFailed(logger, record.Handle);
            return null;
        }

        if (now - record.LastSeenAt >= TouchInterval)
        {
            var idleExpiresAt = Min(now + _options.IdleTimeout, record.AbsoluteExpiresAt);
            await store.TouchSessionAsync(key, now, idleExpiresAt, cancellationToken);
            record = record with { LastSeenAt = now, IdleExpiresAt = idleExpiresAt };
        }

        return new CurrentSession(record, data);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static string? Truncate(string? value, int length) => value is null || value.Length <= length ? value : value[..length];
}
