using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Http;
using Portcullis.Sessions;
using Portcullis.Tokens;
using Yarp.ReverseProxy.Forwarder;

namespace Portcullis.Proxy;

/// <summary>
/// The OAuth proxy: every API request passes the anti-forgery check, gets its session's access token, and is
/// forwarded by YARP with the token attached and the browser's credentials removed.
/// </summary>
internal sealed class ApiProxy : IDisposable
{
    private readonly IHttpForwarder _forwarder;
    private readonly CsrfGuard _csrf;
    private readonly SessionService _sessions;
    private readonly AccessTokenService _tokens;
    private readonly ILogger<ApiProxy> _logger;
    private readonly HttpMessageInvoker _client;
    private readonly BearerTransformer _transformer;
    private readonly ForwarderRequestConfig _requestConfig = new() { ActivityTimeout = TimeSpan.FromSeconds(100) };

    public ApiProxy(IHttpForwarder forwarder, CsrfGuard csrf, SessionService sessions, AccessTokenService tokens, IOptions<PortcullisOptions> options, ILogger<ApiProxy> logger)
    {
        _forwarder = forwarder;
        _csrf = csrf;
        _sessions = sessions;
        _tokens = tokens;
        _logger = logger;
        _transformer = new BearerTransformer(options.Value.Csrf.HeaderName);
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

    public async Task ForwardAsync(HttpContext context, ApiRoute route)
    {
        if (_csrf.Check(context.Request) is { } csrfError)
        {
            await WriteErrorAsync(context, csrfError);
            return;
        }

        if (HasAmbiguousPath(context))
        {
            await WriteErrorAsync(context, PortcullisError.InvalidRequest("The path contains an encoded slash, backslash or dot segment."));
            return;
        }

        string? accessToken = null;
        if (route.TokenMode != ApiTokenModes.None)
        {
            var session = await _sessions.ResolveAsync(context);
            if (session is null && route.TokenMode == ApiTokenModes.User)
            {
                await WriteErrorAsync(context, SessionService.RefusalFor(context));
                return;
            }

            if (session is not null)
            {
                var token = await _tokens.GetAccessTokenAsync(session, context.RequestAborted);
                if (token.Error is { } tokenError)
                {
                    await WriteErrorAsync(context, tokenError);
                    return;
                }

                accessToken = token.Value;
            }
        }

        BearerTransformer.SetAccessToken(context, accessToken);
        var error = await _forwarder.SendAsync(context, route.Upstream, _client, _requestConfig, _transformer);
        if (error != ForwarderError.None && !context.Response.HasStarted)
        {
            Log.UpstreamFailed(_logger, route.Name, error.ToString());
            context.Response.Clear();
            await WriteErrorAsync(context, PortcullisError.UpstreamUnavailable);
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>
    /// Encoded separators survive Kestrel's normalisation and some upstreams decode them into real ones, which would
    /// let a path escape the route's prefix there (SECURITY.md item 31); such requests are refused, not forwarded.
    /// </summary>
    private static bool HasAmbiguousPath(HttpContext context)
    {
        var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? string.Empty;
        var path = raw.Split('?', 2)[0];
        return path.Contains("%2f", StringComparison.OrdinalIgnoreCase)
            || path.Contains("%5c", StringComparison.OrdinalIgnoreCase)
            || path.Contains("%2e", StringComparison.OrdinalIgnoreCase)
            || path.Contains('\\')
            || context.Request.Path.Value?.Contains('\\') == true;
    }

    private static Task WriteErrorAsync(HttpContext context, PortcullisError error) =>
        ErrorResponses.Json(error).ExecuteAsync(context);
}
