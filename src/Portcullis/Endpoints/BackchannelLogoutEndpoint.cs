using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
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
        PortcullisMetrics metrics,
        TimeProvider time,
        Sessions.SessionService sessions,
        ILogger<LogoutTokenValidator> logger)
    {
        SecurityHeaders.NoStore(context.Response);
        if (sessions.RefuseWhenStateless("Back-channel logout") is { } refused)
        {
            // OpenID Connect Back-Channel Logout §2.8: a 400 tells the provider the logout did not happen here.
            return ErrorResponses.Json(refused);
        }

        if (providers.Find(provider) is not { } runtime)
        {
            return ErrorResponses.Json(PortcullisError.UnknownProvider);
        }

        var (logoutToken, problem) = await ReadLogoutTokenAsync(context);
        if (logoutToken is null)
        {
            var bodyProblem = problem ?? BodyProblem.NoToken;
            return await RefuseAsync(runtime, bodyProblem.Reason, audit, logger, bodyProblem.Status);
        }

        LogoutTokenSubject? subject;
        string? refusal;
        try
        {
            (subject, refusal) = await validator.ValidateAsync(runtime, logoutToken, context.RequestAborted);
        }
        catch (Exception exception) when ((exception is ProviderKeysUnreadableException || ProviderErrors.IsTransient(exception)) && !context.RequestAborted.IsCancellationRequested)
        {
            // The provider's metadata was never read (it was down when the gateway started and still is), or the token
            // names a key the gateway has not seen (a rollover) and the provider's keys cannot be read again: the token
            // cannot be checked now. A 503, not a 400, tells the provider this logout did not happen and may be retried.
            Log.BackchannelLogoutUncheckable(logger, runtime.Name, exception.GetType().Name);
            return ErrorResponses.Json(BackchannelUncheckable);
        }

        if (subject is null)
        {
            return await RefuseAsync(runtime, refusal!, audit, logger);
        }

        // The token counts as used once its sessions have ended, not before: recorded first, a store that failed while
        // they were ending (503) left a record that refused the provider's retry as a replay, and the sessions lived on.
        var carriedOut = CarriedOutRecord(runtime, subject);
        var replayWindow = subject.ReplayWindowEndsAt - time.GetUtcNow();
        if (await markers.TryRenewLeaseAsync(carriedOut, CarriedOutOwner, replayWindow, CancellationToken.None))
        {
            return await RefuseAsync(runtime, "jti was already used", audit, logger);
        }

        var user = subject.Subject is null ? null : await users.FindUserAsync(runtime.Name, subject.Subject, CancellationToken.None);
        var ended = subject.SessionId is not null
            ? await EndProviderSessionAsync(store, runtime.Name, subject.SessionId, user?.Id, subject.Subject is not null)
            : user is null ? 0 : await store.DeleteSessionsForUserAsync(user.Id, runtime.Name, CancellationToken.None);

        // False when a concurrent delivery of the same token recorded it first: both ended the same sessions.
        await markers.TryAcquireLeaseAsync(carriedOut, CarriedOutOwner, replayWindow, CancellationToken.None);
        metrics.SessionsEnded(SessionEndReasons.Backchannel, ended);
        Log.BackchannelLogoutCompleted(logger, runtime.Name, ended);
        await audit.RecordAsync(AuditEvents.BackchannelLogout, AuditOutcomes.Success, user?.Id, runtime.Name, detail: $"{ended} session(s) ended");
        return Results.Ok();
    }

    /// <summary>
    /// The record that a logout token was carried out: a lease its fixed owner holds until the token's replay window ends
    /// (<see cref="ILeaseStore"/> is "once across nodes"). Renewing it answers whether it is held without creating it;
    /// taking it writes it once the sessions have ended. A used-marker cannot be read without being written, so it could
    /// only be set before the work it guards.
    /// </summary>
    private static string CarriedOutRecord(ProviderRuntime provider, LogoutTokenSubject subject) => $"logout-token:{provider.Name}:{subject.TokenId}";

    private const string CarriedOutOwner = "carried-out";

    private static readonly PortcullisError BackchannelUncheckable =
        new(503, "temporarily_unavailable", "The logout token cannot be checked now: the identity provider's keys could not be read. Try again shortly.") { RetryAfterSeconds = 5 };

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

    /// <summary>
    /// The <c>logout_token</c> of a form body, read only as <c>application/x-www-form-urlencoded</c> (§2.5) and never
    /// beyond <see cref="MaxFormBytes"/> whether or not the body declares its length: a chunked body is cut off at the
    /// limit by Kestrel rather than buffered.
    /// </summary>
    private static async Task<(string? Token, BodyProblem? Problem)> ReadLogoutTokenAsync(HttpContext context)
    {
        var request = context.Request;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !string.Equals(mediaType.MediaType.Value, "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return (null, BodyProblem.NotAForm);
        }

        if (request.ContentLength is > MaxFormBytes)
        {
            return (null, BodyProblem.TooLarge);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxFormBytes;
        }

        try
        {
            var form = await request.ReadFormAsync(new FormOptions { ValueLengthLimit = MaxFormBytes, BufferBody = false }, context.RequestAborted);
            var token = form["logout_token"];
            return token.Count == 1 && !string.IsNullOrEmpty(token[0]) ? (token[0], null) : (null, BodyProblem.NoToken);
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, BodyProblem.TooLarge);
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException or BadHttpRequestException)
        {
            return (null, BodyProblem.Malformed);
        }
    }

    private readonly record struct BodyProblem(string Reason, int Status)
    {
        public static readonly BodyProblem NotAForm = new("the body is not application/x-www-form-urlencoded", StatusCodes.Status400BadRequest);
        public static readonly BodyProblem TooLarge = new($"the body is larger than {MaxFormBytes} bytes", StatusCodes.Status413PayloadTooLarge);
        public static readonly BodyProblem Malformed = new("the form body is malformed", StatusCodes.Status400BadRequest);
        public static readonly BodyProblem NoToken = new("no logout_token form parameter", StatusCodes.Status400BadRequest);
    }

    private static async Task<IResult> RefuseAsync(ProviderRuntime provider, string reason, AuditLog audit, ILogger logger, int status = StatusCodes.Status400BadRequest)
    {
        Log.BackchannelLogoutRefused(logger, provider.Name, reason);
        await audit.RecordAsync(AuditEvents.BackchannelLogout, AuditOutcomes.Refused, provider: provider.Name, detail: reason);
        // §2.8: 400 with an OAuth-style error body; 413 when the body is over the limit.
        return ErrorResponses.Json(new PortcullisError(status, "invalid_request", "The logout token was refused."));
    }
}
