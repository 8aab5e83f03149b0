using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Portcullis.Proxy;

/// <summary>
/// What one forwarding attempt sends and what the transform observed about the answer. It is the transformer YARP is
/// given for that attempt, so the transform finds the attempt without a lookup in the request's features: a feature
/// set and two gets per call, and Kestrel's list for features it does not know, were measurable on one CPU (issue 18).
/// </summary>
internal sealed class ForwardAttempt(BearerTransformer transform) : HttpTransformer
{
    public string? AccessToken { get; init; }

    /// <summary>For <c>assertion</c> routes: the signed identity assertion sent in the route's header instead of any token.</summary>
    public string? Assertion { get; init; }

    /// <summary>The route the request goes to: what of the upstream's answer may reach the browser.</summary>
    public required ApiRoute Route { get; init; }

    /// <summary>When set, an upstream 401 is held back (not sent to the browser) so the request can be retried once.</summary>
    public bool HoldBackUnauthorized { get; init; }

    public bool UpstreamRejectedToken { get; set; }

    public bool ResponseTooLarge { get; set; }

    /// <summary>The grant's DPoP key when its token is bound to one: then the token goes as <c>DPoP</c>, never as <c>Bearer</c>.</summary>
    public string? DPoPKey { get; init; }

    /// <summary>The upstream's latest DPoP nonce, put in this attempt's proof.</summary>
    public string? DPoPNonce { get; init; }

    /// <summary>Whether a <c>use_dpop_nonce</c> challenge may be held back for one retry with the nonce it brings.</summary>
    public bool RetryNonceChallenge { get; init; }

    /// <summary>Set when the upstream answered with a <c>use_dpop_nonce</c> challenge that was held back.</summary>
    public bool NonceChallenged { get; set; }

    /// <summary>The <c>DPoP-Nonce</c> the upstream sent with its answer, if any.</summary>
    public string? UpstreamNonce { get; set; }

    public override ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken) =>
        transform.TransformRequestAsync(this, httpContext, proxyRequest, destinationPrefix, cancellationToken);

    public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken) =>
        transform.TransformResponseAsync(this, httpContext, proxyResponse, cancellationToken);
}
