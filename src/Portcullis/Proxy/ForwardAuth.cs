using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Http;
using Portcullis.Primitives;
using Yarp.ReverseProxy.Forwarder;

namespace Portcullis.Proxy;

/// <summary>
/// Forward-auth (issue 20 item 1): a front proxy asks about a request before forwarding it itself. The original request is
/// matched against the API routes and judged by <see cref="ProxyAdmission"/>, exactly as the built-in proxy would judge
/// it; the answer is 200 with the header(s) the proxy must add (<c>Authorization</c>, and <c>DPoP</c> for a DPoP-bound
/// token; the route's assertion header on a <c>Token: assertion</c> route), or the proxy's 4xx/5xx JSON. Only requests
/// on <c>ForwardAuth:Port</c> from the proxies in <c>TrustedProxies</c> are answered: a browser that called this endpoint
/// itself would read its own access token (invariant 1), and through a front proxy that also forwards <c>/bff/</c> it
/// would connect from a trusted address.
/// </summary>
/// <remarks>
/// What stays the front proxy's: the request body (its size limit too), and the upstream's answer, so an upstream 401 or
/// DPoP nonce challenge is not retried here; the next request gets a refreshed token when it is due (ADR 0038).
/// </remarks>
internal sealed class ForwardAuth
{
    private readonly ProxyAdmission _admission;
    private readonly ApiRouteTable _routes;
    private readonly TimeProvider _time;
    private readonly ILogger<ForwardAuth> _logger;
    private readonly PathString _path;
    private readonly IPNetwork[] _trusted;
    private readonly int _port;

    public ForwardAuth(ProxyAdmission admission, ApiRouteTable routes, IOptions<PortcullisOptions> options, TimeProvider time, ILogger<ForwardAuth> logger)
    {
        _admission = admission;
        _routes = routes;
        _time = time;
        _logger = logger;
        _path = new PathString(options.Value.BasePath + options.Value.ForwardAuth.Path);
        _trusted = options.Value.TrustedProxies.Select(entry => TrustedProxyList.TryParse(entry, out var network) ? network : (IPNetwork?)null)
            .OfType<IPNetwork>().ToArray();
        _port = options.Value.ForwardAuth.Port ?? 0;
    }

    /// <summary>Where the endpoint is (<c>{BasePath}{ForwardAuth:Path}</c>).</summary>
    public PathString Path => _path;

    public async Task HandleAsync(HttpContext context)
    {
        SecurityHeaders.NoStore(context.Response);
        if (await JudgeAsync(context) is { } refusal)
        {
            await ErrorResponses.Json(refusal).ExecuteAsync(context);
        }
    }

    private async Task<PortcullisError?> JudgeAsync(HttpContext context)
    {
        // The socket's own port, never the Host header: on any other listener the endpoint does not exist, whoever asks.
        if (context.Connection.LocalPort != _port)
        {
            Log.ForwardAuthOtherPort(_logger, context.Connection.LocalPort);
            return NotOnThisPort;
        }

        // The connection's own address, not the client address the forwarded headers report: only a proxy may ask.
        var peer = ConnectionPeer.Of(context)?.Address;
        if (peer is null || !_trusted.Any(network => network.Contains(peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer)))
        {
            Log.ForwardAuthUntrustedPeer(_logger, peer?.ToString() ?? "an unknown address");
            return NotATrustedProxy;
        }

        var original = OriginalRequest.Read(context, _path);
        if (original.Error is { } unreadable)
        {
            Log.ForwardAuthUnreadable(_logger, unreadable.Message);
            return unreadable;
        }

        var request = original.Value!;
        if (_routes.Match(request.Path) is not { } route)
        {
            Log.ForwardAuthUnreadable(_logger, "no API route covers the path");
            return NoRoute;
        }

        if (_admission.Admit(context, route, request.Target) is { } refusal)
        {
            return refusal;
        }

        var credential = await _admission.ResolveCredentialAsync(context, route);
        if (credential.Error is { } error)
        {
            return error;
        }

        if (credential.Assertion is { } assertion)
        {
            // Token: assertion routes get the gateway's signed statement in the route's header, never a provider token.
            context.Response.Headers[route.AssertionHeader] = assertion;
        }
        else if (credential.AccessToken is { } token)
        {
            Attach(context.Response, route, request, token, credential.DPoPKey);
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        return null;
    }

    /// <summary>The headers the front proxy copies onto the request it forwards, as <see cref="BearerTransformer"/> would set them.</summary>
    private void Attach(HttpResponse response, ApiRoute route, OriginalRequest request, string token, string? dpopKey)
    {
        if (dpopKey is null)
        {
            response.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token).ToString();
            return;
        }

        // A DPoP-bound token goes with a proof for the address the upstream sees (RFC 9449 §4.2): the route's upstream and
        // the original path, the query left out as htu requires.
        using var key = Agent.DPoPKey.Import(dpopKey);
        var target = RequestUtilities.MakeDestinationAddress(route.Upstream, new PathString(request.Path), QueryString.Empty);
        response.Headers.Authorization = new AuthenticationHeaderValue("DPoP", token).ToString();
        response.Headers["DPoP"] = key.CreateProof(request.Method, target, _time.GetUtcNow(), token);
    }

    // As any unknown gateway path answers: nothing tells a browser that the endpoint exists elsewhere.
    private static PortcullisError NotOnThisPort { get; } =
        new(404, "not_found", "There is no such gateway endpoint.");

    private static PortcullisError NotATrustedProxy { get; } =
        new(403, "forbidden", "Forward-auth answers only the front proxies listed in Portcullis:TrustedProxies.");

    private static PortcullisError NoRoute { get; } =
        new(403, "forbidden", "No API route of the gateway covers the original request's path.");
}
