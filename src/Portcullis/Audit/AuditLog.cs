using Microsoft.Extensions.Logging;
using Portcullis.Storage;

namespace Portcullis.Audit;

/// <summary>
/// The audit log in the store (issue 3 item 9): who did what to which user's session or tokens, and how it ended.
/// Entries never hold a secret — no token, cookie value or session key; sessions are named by their public handle.
/// </summary>
public sealed class AuditLog
{
    private readonly IAuditStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditLog> _logger;

    internal AuditLog(IAuditStore store, TimeProvider time, ILogger<AuditLog> logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
    }

    /// <summary>Entries matching <paramref name="query"/>, newest first.</summary>
    public Task<IReadOnlyList<AuditRecord>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) =>
        _store.QueryAuditAsync(query, cancellationToken);

    /// <summary>
    /// Appends an entry. A store failure is logged, not thrown: the action being audited (a logout, a refresh) has
    /// already happened and must not turn into an error for the user because its record could not be written.
    /// </summary>
    internal async Task RecordAsync(
        string auditEvent,
        string outcome,
        string? userId = null,
        string? provider = null,
        string? sessionHandle = null,
        string? actor = null,
        string? detail = null)
    {
        try
        {
            await _store.AppendAuditAsync(
                new AuditRecord(0, _time.GetUtcNow(), auditEvent, outcome, userId, provider, sessionHandle, actor, detail),
                CancellationToken.None);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            Diagnostics.Log.AuditWriteFailed(_logger, auditEvent, exception.GetType().Name);
        }
    }
}

/// <summary>Names of audited events.</summary>
public static class AuditEvents
{
    public const string Login = "login";
    public const string Logout = "logout";
    public const string SessionEnded = "session_ended";
    public const string Refresh = "refresh";
    public const string RefreshFailed = "refresh_failed";
    public const string ReauthenticationRequired = "reauthentication_required";
    public const string BackchannelLogout = "backchannel_logout";
    public const string Revocation = "revocation";
    public const string TokenUse = "token_use";

    /// <summary>An operator looked a user up on the operator page (<c>actor</c> is the operator's user id).</summary>
    public const string AdminLookup = "admin_lookup";

    /// <summary>An operator ended one session or all of a user's sessions (<c>actor</c> is the operator's user id).</summary>
    public const string AdminSessionEnded = "admin_session_ended";
}

/// <summary>Outcomes recorded with an event.</summary>
public static class AuditOutcomes
{
    public const string Success = "success";
    public const string Failed = "failed";
    public const string Refused = "refused";
    public const string Queued = "queued";
    public const string Abandoned = "abandoned";
}
