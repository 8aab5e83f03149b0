using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Http;
using Portcullis.Primitives;
using Portcullis.Storage;
using Portcullis.Tokens;
using Portcullis.Sessions;
using Yarp.ReverseProxy.Forwarder;

namespace Portcullis.Proxy;

/// <summary>
/// The OAuth proxy. Each API request passes, in this order and before anything is forwarded: the anti-forgery check (the
/// origin check alone for WebSocket upgrades), the path-safety check, the session and the route's requirements, and gets
/// its access token; YARP then forwards it with the token attached and the browser's credentials removed. An upstream 401
/// to a replayable request renews the token once and retries once.
/// </summary>
internal sealed class ApiProxy : IDisposable
{
    private readonly IHttpForwarder _forwarder;
    private readonly ProxyAdmission _admission;
    private readonly SessionTokens _tokens;
    private readonly ClientTokenService _clientTokens;

    /// <summary>Each upstream's latest DPoP nonce (RFC 9449 §9), by route; a lost update costs one more challenge.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _upstreamNonces = new(StringComparer.Ordinal);
    private readonly ILogger<ApiProxy> _logger;
    private readonly PortcullisMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly HttpMessageInvoker _client;
    private readonly BearerTransformer _transformer;
    private readonly StoreFailures _storeFailures;
    private readonly RejectedTokenRenewals _renewals;

    public ApiProxy(
        IHttpForwarder forwarder,
        ProxyAdmission admission,
        SessionTokens tokens,
        ClientTokenService clientTokens,
        IOptions<PortcullisOptions> options,
        PortcullisMetrics metrics,
        StoreFailures storeFailures,
        TimeProvider time,
        ILogger<ApiProxy> logger)
    {
        _storeFailures = storeFailures;
        _renewals = new RejectedTokenRenewals(time);
        _metrics = metrics;
        _time = time;
        _forwarder = forwarder;
        _admission = admission;
        _tokens = tokens;
        _clientTokens = clientTokens;
        _logger = logger;
        _transformer = new BearerTransformer(options.Value.Csrf.HeaderName, options.Value.Session.CookieName, time);
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
            ConnectTimeout = TimeSpan.FromSeconds(15),
        });
    }

    /// <remarks>
    /// A forwarded request allocates this one task, not one per step (issue 18): the credential comes from a
    /// <see cref="ValueTask{TResult}"/> that completes without awaiting when the session is cached and its token fresh,
    /// the upstream call is YARP's own <see cref="ValueTask{TResult}"/>, and judging its outcome awaits nothing unless
    /// there is an error to answer. The retries after a nonce challenge or a rejected token are the rare path.
    /// </remarks>
    public async Task ForwardAsync(HttpContext context, ApiRoute route)
    {
        var started = _time.GetTimestamp();
        try
        {
            var upgrade = UpgradeOf(context);
            if (upgrade == Upgrade.Other)
            {
                // YARP tunnels SPDY upgrades too: past WebSockets: false and the body limits, with the user's token.
                Log.ProxyRequestRefused(_logger, route.Name, "upgrade to a protocol other than WebSocket");
                await WriteErrorAsync(context, OtherUpgrade);
                return;
            }

            if (Admit(context, route, upgrade == Upgrade.WebSocket) is { } refusal)
            {
                await WriteErrorAsync(context, refusal);
                return;
            }

            var credential = await _admission.ResolveCredentialAsync(context, route);
            if (credential.Error is { } credentialError)
            {
                await WriteErrorAsync(context, credentialError);
                return;
            }

            // Only a request that carried a token can be helped by a new one (and not one renewed for a 401 just now);
            // upgrades are never replayed.
            var replayable = credential.AccessToken is { } accessToken && !credential.PassThrough && upgrade == Upgrade.None && _renewals.MayRenew(accessToken)
                && await ReplayableBody.TryPrepareAsync(context, route.RetryBodyLimit);
            var attempt = new ForwardAttempt(_transformer)
            {
                Route = route,
                AccessToken = credential.AccessToken,
                Assertion = credential.Assertion,
                HoldBackUnauthorized = replayable,
                DPoPKey = credential.DPoPKey,
                DPoPNonce = _upstreamNonces.GetValueOrDefault(route.Name),
                RetryNonceChallenge = true,
            };
            var error = await SendAsync(context, route, attempt);
            if (await AnsweredFailureAsync(context, route, attempt, error))
            {
                return;
            }

            if (attempt.NonceChallenged || attempt.UpstreamRejectedToken)
            {
                await RetryAsync(context, route, credential, replayable, attempt);
            }
        }
        catch (BadHttpRequestException exception) when (!context.Response.HasStarted)
        {
            // The caller's body stopped short of its declared length (too slow for Kestrel's minimum data rate, or cut
            // off) while it was read for a possible retry (a streamed body is YARP's to judge): the caller's doing,
            // answered with Kestrel's status for it, not an application error in the logs (nor a warning: phones leave
            // mid-upload every day).
            Log.ProxyRequestBodyIncomplete(_logger, route.Name, exception.Message);
            await WriteErrorAsync(context, IncompleteBody with { StatusCode = exception.StatusCode });
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away while its body was read: nobody to answer.
        }
        catch (Exception exception) when (_storeFailures.IsUnavailable(exception) && !context.Response.HasStarted)
        {
            // Not a 500 and not a logout: the session may well exist once the store is back (StoreUnavailableMiddleware,
            // which API routes skip).
            await StoreUnavailableMiddleware.AnswerAsync(context, exception, _logger);
        }
        finally
        {
            _metrics.ProxyRequestCompleted(route.Name, context.Response.StatusCode, _time.GetElapsedTime(started));
        }
    }

    /// <summary>The first answer was held back: the upstream asked for its DPoP nonce, or refused the token.</summary>
    private async Task RetryAsync(HttpContext context, ApiRoute route, ProxyCredential credential, bool replayable, ForwardAttempt attempt)
    {
        if (attempt.NonceChallenged)
        {
            // The upstream wants its nonce in the proof: the same token again, once, with a fresh proof.
            context.Response.Clear();
            ReplayableBody.Rewind(context);
            attempt = new ForwardAttempt(_transformer)
            {
                Route = route,
                AccessToken = credential.AccessToken,
                HoldBackUnauthorized = replayable,
                DPoPKey = credential.DPoPKey,
                DPoPNonce = attempt.UpstreamNonce,
            };
            if (await AnsweredFailureAsync(context, route, attempt, await SendAsync(context, route, attempt)))
            {
                return;
            }
        }

        if (!attempt.UpstreamRejectedToken)
        {
            return;
        }

        Log.UpstreamRejectedToken(_logger, route.Name);
        var renewed = await RenewAsync(context, route, credential, context.RequestAborted);
        context.Response.Clear();
        if (renewed.Error is { } renewError)
        {
            await WriteErrorAsync(context, renewError);
            return;
        }

        _renewals.Renewed(renewed.Value!);
        ReplayableBody.Rewind(context);
        // The second answer passes through whatever it is, 401 included: one retry, never a loop.
        var last = new ForwardAttempt(_transformer)
        {
            Route = route,
            AccessToken = renewed.Value,
            DPoPKey = credential.DPoPKey,
            DPoPNonce = _upstreamNonces.GetValueOrDefault(route.Name),
        };
        await AnsweredFailureAsync(context, route, last, await SendAsync(context, route, last));
    }

    public void Dispose() => _client.Dispose();

    /// <summary>The shared admission checks on this request, then its declared body size against the route's limit.</summary>
    private PortcullisError? Admit(HttpContext context, ApiRoute route, bool upgrade)
    {
        var target = new AdmissionTarget(context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty, context.Request.Path.Value ?? string.Empty, upgrade);
        if (_admission.Admit(context, route, target) is { } refusal)
        {
            return refusal;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
        {
            bodyLimit.MaxRequestBodySize = route.MaxRequestBodySize;
        }

        return context.Request.ContentLength > route.MaxRequestBodySize ? RequestTooLarge : null;
    }

    private async Task<Outcome<string>> RenewAsync(HttpContext context, ApiRoute route, ProxyCredential credential, CancellationToken cancellationToken)
    {
        if (credential.Session is { } session)
        {
            return await _tokens.RefreshRejectedAsync(context, session, credential.AccessToken!, cancellationToken, route.Audience);
        }

        // A client token's DPoP key is its slot's for good: the renewed token is bound to the same key.
        var renewed = await _clientTokens.RenewRejectedAsync(route.ClientToken!, credential.AccessToken!, cancellationToken);
        return renewed.Value is { } token ? token.AccessToken : renewed.Error!;
    }

    /// <summary>
    /// Forwards once. No state machine of its own: with nobody listening to the gateway's traces this is YARP's call
    /// itself; otherwise the <c>portcullis.proxy.forward</c> span wraps it.
    /// </summary>
    private ValueTask<ForwarderError> SendAsync(HttpContext context, ApiRoute route, ForwardAttempt attempt)
    {
        return PortcullisTelemetry.Source.HasListeners()
            ? SendTracedAsync(context, route, attempt)
            : _forwarder.SendAsync(context, route.Upstream, _client, route.RequestConfig, attempt);
    }

    private async ValueTask<ForwarderError> SendTracedAsync(HttpContext context, ApiRoute route, ForwardAttempt attempt)
    {
        // The span the upstream sees as its parent: ReverseProxyPropagator writes its traceparent on the request.
        using var activity = PortcullisTelemetry.Source.StartActivity("portcullis.proxy.forward", ActivityKind.Client);
        activity?.SetTag("portcullis.route", route.Name);
        var error = await _forwarder.SendAsync(context, route.Upstream, _client, route.RequestConfig, attempt);
        activity?.SetTag("http.response.status_code", context.Response.StatusCode);
        if (error != ForwarderError.None)
        {
            activity?.SetStatus(ActivityStatusCode.Error, error.ToString());
        }

        return error;
    }

    /// <summary>
    /// Keeps the nonce the upstream sent for the next proof, then judges the attempt: true when it ended in an error that
    /// has been answered (or the client is gone), false when its answer went through or was held back for a retry.
    /// Completes without awaiting on success, so it allocates nothing on the common path.
    /// </summary>
    private async ValueTask<bool> AnsweredFailureAsync(HttpContext context, ApiRoute route, ForwardAttempt attempt, ForwarderError error)
    {
        if (attempt.UpstreamNonce is { } nonce)
        {
            _upstreamNonces[route.Name] = nonce;
        }

        if (attempt.ResponseTooLarge || context.Response.Body is LengthLimitedStream { Exceeded: true })
        {
            Log.UpstreamResponseTooLarge(_logger, route.Name, route.MaxResponseBodySize ?? 0);
            await AnswerIfPossibleAsync(context, new PortcullisError(502, "upstream_unavailable", "The API's answer is larger than this route allows."));
            return true;
        }

        if (error == ForwarderError.None)
        {
            return false;
        }

        if (IsRequestBodyTooLarge(context.Features.Get<IForwarderErrorFeature>()?.Exception))
        {
            // Kestrel's limit cut the browser's body off while it streamed to the upstream: nothing is wrong upstream.
            Log.RequestBodyTooLarge(_logger, route.Name, route.MaxRequestBodySize);
            await AnswerIfPossibleAsync(context, RequestTooLarge);
            return true;
        }

        var answer = error switch
        {
            ForwarderError.RequestTimedOut => new PortcullisError(504, "upstream_unavailable", "The API did not answer in time."),
            // The browser went away or sent a broken body: nobody is left to read an answer, keep YARP's status.
            ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient
                or ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient
                or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeRequestClient
                or ForwarderError.UpgradeResponseCanceled or ForwarderError.UpgradeResponseClient => null,
            _ => PortcullisError.UpstreamUnavailable,
        };
        if (answer is null)
        {
            // Browsers cancel API calls all the time; a warning per navigation would bury the upstream failures.
            Log.ClientWentAway(_logger, route.Name, error.ToString());
            return true;
        }

        Log.UpstreamFailed(_logger, route.Name, error.ToString());
        await AnswerIfPossibleAsync(context, answer);
        return true;
    }

    /// <summary>
    /// Whether the route's body limit stopped the request. YARP reports it wrapped: the body copy's failure and the
    /// send's, each carrying Kestrel's <see cref="BadHttpRequestException"/> (413) somewhere down its inner exceptions.
    /// </summary>
    private static bool IsRequestBodyTooLarge(Exception? exception) => exception switch
    {
        null => false,
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsRequestBodyTooLarge),
        _ => IsRequestBodyTooLarge(exception.InnerException),
    };

    private static async Task AnswerIfPossibleAsync(HttpContext context, PortcullisError error)
    {
        if (context.Response.HasStarted)
        {
            // Headers are out: the only honest signal left is to cut the response short.
            context.Abort();
            return;
        }

        context.Response.Clear();
        await WriteErrorAsync(context, error);
    }

    /// <summary>
    /// Whether the request asks to switch protocols (HTTP/1.1 upgrade or HTTP/2 extended CONNECT), and to WebSocket,
    /// recognised as YARP recognises it.
    /// </summary>
    private static Upgrade UpgradeOf(HttpContext context)
    {
        if (context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true)
        {
            return string.Equals(context.Request.Headers.Upgrade.ToString(), "websocket", StringComparison.OrdinalIgnoreCase) ? Upgrade.WebSocket : Upgrade.Other;
        }

        return context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true, Protocol: var protocol }
            ? string.Equals(protocol, "websocket", StringComparison.OrdinalIgnoreCase) ? Upgrade.WebSocket : Upgrade.Other
            : Upgrade.None;
    }

    private enum Upgrade
    {
        None,
        WebSocket,
        Other,
    }

    private static PortcullisError IncompleteBody { get; } = PortcullisError.InvalidRequest("The request body did not arrive in full: it stopped short of the length it declared.");

    private static PortcullisError OtherUpgrade { get; } = PortcullisError.InvalidRequest("This API route accepts no protocol upgrade other than WebSocket.");

    // Only when a reload removed the keys under a running assertion route; the validator refuses that configuration.

    private static PortcullisError RequestTooLarge { get; } = new(413, "invalid_request", "The request body is larger than this API route accepts.");

    private static Task WriteErrorAsync(HttpContext context, PortcullisError error) =>
        ErrorResponses.Json(error).ExecuteAsync(context);
}
