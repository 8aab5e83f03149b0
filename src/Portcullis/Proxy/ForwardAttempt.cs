using Microsoft.AspNetCore.Http;

namespace Portcullis.Proxy;

/// <summary>
/// What one forwarding attempt sends and what the transformer observed about the answer; a typed feature of the
/// request (<see cref="HttpContext.Features"/>) between the proxy and YARP's transformer.
/// </summary>
internal sealed class ForwardAttempt
{
    public string? AccessToken { get; init; }

    /// <summary>The route the request goes to: what of the upstream's answer may reach the browser.</summary>
    public required ApiRoute Route { get; init; }

    /// <summary>When set, an upstream 401 is held back (not sent to the browser) so the request can be retried once.</summary>
    public bool HoldBackUnauthorized { get; init; }

    public bool UpstreamRejectedToken { get; set; }

    public bool ResponseTooLarge { get; set; }

    public static ForwardAttempt? Of(HttpContext context) => context.Features.Get<ForwardAttempt>();

    public void AttachTo(HttpContext context) => context.Features.Set(this);
}
