using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Portcullis.Audit;
using Portcullis.Diagnostics;
using Portcullis.Http;
using Portcullis.Primitives;
using Portcullis.Sessions;
using Portcullis.Storage;

namespace Portcullis.Endpoints;

/// <summary>
/// <c>GET /bff/sessions</c> and <c>DELETE /bff/sessions/{handle}</c>: the user's own sessions, named by their handle,
/// which cannot be used as a cookie (the cookie's value exists only in the browser that holds it).
/// </summary>
internal static class SessionEndpoints
{
    private const int DeviceHintLength = 120;

    public static async Task<IResult> ListAsync(HttpContext context, SessionService sessions, ISessionStore store, TimeProvider time)
    {
        if (sessions.RefuseWhenStateless("The session list (GET /bff/sessions)") is { } refused)
        {
            return ErrorResponses.Json(refused);
        }

        if (await sessions.ResolveAsync(context) is not { } current)
        {
            return ErrorResponses.Json(PortcullisError.Unauthenticated);
        }

        var records = await store.ListSessionsForUserAsync(current.Record.UserId, time.GetUtcNow(), context.RequestAborted);
        var list = records
            .Select(record => new SessionSummary(
                record.Handle,
                record.Provider,
                record.CreatedAt,
                record.LastSeenAt,
                record.IdleExpiresAt,
                record.AbsoluteExpiresAt,
                DeviceHint(record.Key == current.Record.Key ? current.Data : sessions.ReadData(record)),
                record.Key == current.Record.Key))
            .ToArray();
        return Results.Json(list, EndpointJsonContext.Default.SessionSummaryArray);
    }

    public static async Task<IResult> DeleteAsync(
        string handle,
        HttpContext context,
        SessionService sessions,
        SessionCookies cookies,
        SessionTermination termination,
        ISessionStore store,
        TimeProvider time,
        ILogger<SessionService> logger)
    {
        if (sessions.RefuseWhenStateless("Ending one of your sessions (DELETE /bff/sessions/{handle})") is { } refused)
        {
            return ErrorResponses.Json(refused);
        }

        if (await sessions.ResolveAsync(context) is not { } current)
        {
            return ErrorResponses.Json(PortcullisError.Unauthenticated);
        }

        // Only the user's own sessions are found, so another user's handle is indistinguishable from a made-up one.
        var records = await store.ListSessionsForUserAsync(current.Record.UserId, time.GetUtcNow(), context.RequestAborted);
        if (records.FirstOrDefault(r => string.Equals(r.Handle, handle, StringComparison.Ordinal)) is not { } target)
        {
            return ErrorResponses.Json(new PortcullisError(404, "not_found", "You have no session with this handle."));
        }

        await termination.EndAsync(target, AuditEvents.SessionEnded);
        Log.SessionEndedByUser(logger, target.Handle, target.UserId);
        if (target.Key == current.Record.Key)
        {
            cookies.ExpireSession(context.Response);
            sessions.Forget(context);
        }

        return Results.NoContent();
    }

    private static string? DeviceHint(SessionData? data) =>
        data?.UserAgent is { } userAgent ? userAgent.Length <= DeviceHintLength ? userAgent : userAgent[..DeviceHintLength] : null;
}

internal sealed record SessionSummary(
    string Handle,
    string Provider,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastSeenAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset AbsoluteExpiresAt,
    string? Device,
    bool Current);
