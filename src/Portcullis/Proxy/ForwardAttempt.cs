using Microsoft.AspNetCore.Http;

namespace Portcullis.Proxy;

/// <summary>What one forwarding attempt sends and what the transformer observed about the answer.</summary>
internal sealed class ForwardAttempt
{
    private static readonly object Key = new();

    public string? AccessToken { get; init; }

    /// <summary>When set, an upstream 401 is held back (not sent to the browser) so the request can be retried once.</summary>
    public bool HoldBackUnauthorized { get; init; }

    public long? MaxResponseBodySize { get; init; }

    public bool UpstreamRejectedToken { get; set; }

    public bool ResponseTooLarge { get; set; }

    public static ForwardAttempt? Of(HttpContext context) => context.Items.TryGetValue(Key, out var value) ? value as ForwardAttempt : null;

    public void AttachTo(HttpContext context) => context.Items[Key] = this;
}
