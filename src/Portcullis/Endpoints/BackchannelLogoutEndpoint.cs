using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Portcullis.Agent;
using Portcullis.Audit;
using Portcullis.Diagnostics;
using Portcullis.Http;
using Portcullis.Primitives;
using Portcullis.Storage;

namespace Portcullis.Endpoints;

/// <summary>
/// <c>POST /bff/backchannel-logout/{provider}</c> (OpenID Connect Back-Channel Logout 1.0): the provider tells the
/// gateway a user's provider session ended; the matching sessions end here too. The caller is the provider's
/// server, not a browser, so there is no CSRF header: the signed, single-use logout token is the credential.
/// </summary>
internal static class BackchannelLogoutEndpoint
{
    private const int MaxFormBytes = 16 * 1024;

    public static async Task<IResult> HandleAsync(
        string provider,
        HttpContext context,
        ProviderRegistry providers,
        LogoutTokenValidator validator,
        ISessionStore store,
        IUserStore users,
        ILeaseStore markers,
        AuditLog audit,
        TimeProvider time,
        ILogger<LogoutTokenValidator> logger)
    {
        SecurityHeaders.NoStore(context.Response);
        if (providers.Find(provider) is not { } runtime)
        {
            return ErrorResponses.Json(PortcullisError.UnknownProvider);
        }

        var logoutToken = await ReadLogoutTokenAsync(context.Request);
        if (logoutToken is null)
        {
            return await RefuseAsync(runtime, "no logout_token form parameter", audit, logger);
        }

        var (subject, refusal) = await validator.ValidateAsync(runtime, logoutToken, context.RequestAborted);
        if (subject is null)
        {
            return await RefuseAsync(runtime, refusal!, audit, logger);
        }

        if (!await markers.TryMarkUsedAsync($"logout-token:{runtime.Name}:{subject.TokenId}", subject.ReplayWindowEndsAt, time.GetUtcNow(), CancellationToken.None))
        {
            return await RefuseAsync(runtime, "jti was already used", audit, logger);
        }

        var user = subject.Subject is null ? null : await users.FindUserAsync(runtime.Name, subject.Subject, CancellationToken.None);
        var ended = subject.SessionId is not null
            ? await EndProviderSessionAsync(store, runtime.Name, subject.SessionId, user?.Id, subject.Subject is not null)
            : user is null ? 0 : await store.DeleteSessionsForUserAsync(user.Id, runtime.Name, CancellationToken.None);

        Log.BackchannelLogoutCompleted(logger, runtime.Name, ended);
        await audit.RecordAsync(AuditEvents.BackchannelLogout, AuditOutcomes.Success, user?.Id, runtime.Name, detail: $"{ended} session(s) ended");
        return Results.Ok();
    }

    /// <summary>With both <c>sid</c> and <c>sub</c>, only that user's sessions of that provider session end.</summary>
    private static async Task<int> EndProviderSessionAsync(ISessionStore store, string provider, string sid, string? userId, bool subjectGiven)
    {
        if (!subjectGiven)
        {
            return await store.DeleteSessionsForProviderSessionAsync(provider, sid, CancellationToken.None);
        }

        if (userId is null)
        {
            return 0;
        }

        var ended = 0;
        foreach (var session in await store.ListSessionsForUserAsync(userId, DateTimeOffset.MinValue, CancellationToken.None))
        {
            if (session.Provider == provider && session.ProviderSessionId == sid && await store.DeleteSessionAsync(session.Key, CancellationToken.None))
            {
                ended++;
            }
        }

        return ended;
    }

    private static async Task<string?> ReadLogoutTokenAsync(HttpRequest request)
    {
        if (!request.HasFormContentType || request.ContentLength is > MaxFormBytes)
        {
            return null;
        }

        try
        {
            var form = await request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions { ValueLengthLimit = MaxFormBytes, BufferBody = false });
            var token = form["logout_token"];
            return token.Count == 1 && !string.IsNullOrEmpty(token[0]) ? token[0] : null;
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException or BadHttpRequestException)
        {
            return null;
        }
    }

    private static async Task<IResult> RefuseAsync(ProviderRuntime provider, string reason, AuditLog audit, ILogger logger)
    {
        Log.BackchannelLogoutRefused(logger, provider.Name, reason);
        await audit.RecordAsync(AuditEvents.BackchannelLogout, AuditOutcomes.Refused, provider: provider.Name, detail: reason);
        // §2.8: 400 with an OAuth-style error body.
        return ErrorResponses.Json(PortcullisError.InvalidRequest("The logout token was refused."));
    }
}
