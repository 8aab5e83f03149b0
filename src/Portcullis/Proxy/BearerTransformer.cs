using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Portcullis.Proxy;

/// <summary>
/// Bearer in, browser credentials out (SECURITY.md items 22, 30): the upstream gets the access token in the
/// <c>Authorization</c> header and never the browser's cookies, CSRF header, own <c>Authorization</c>, or identity
/// and forwarding headers it made up, whatever their spelling.
/// </summary>
internal sealed class BearerTransformer(string csrfHeaderName) : HttpTransformer
{
    private static readonly object AccessTokenKey = new();

    public static void SetAccessToken(HttpContext context, string? accessToken) => context.Items[AccessTokenKey] = accessToken;

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        var headers = proxyRequest.Headers;
        foreach (var name in headers.Select(h => h.Key).ToList())
        {
            if (IsStripped(name))
            {
                headers.Remove(name);
            }
        }

        headers.Remove(csrfHeaderName);
        headers.Remove("Cookie");
        headers.Authorization = httpContext.Items.TryGetValue(AccessTokenKey, out var token) && token is string accessToken
            ? new AuthenticationHeaderValue("Bearer", accessToken)
            : null;
    }

    /// <summary>
    /// Headers that carry identity or client addresses when a trusted proxy sets them; from a browser they are forged.
    /// Names are compared with '_' read as '-', because some servers treat the two alike.
    /// </summary>
    internal static bool IsStripped(string name)
    {
        var normalized = name.Replace('_', '-').ToLowerInvariant();
        return normalized is "authorization" or "cookie" or "forwarded" or "proxy-authorization" or "x-real-ip" or "x-client-ip" or "true-client-ip"
            || normalized.StartsWith("x-forwarded-", StringComparison.Ordinal)
            || normalized.StartsWith("x-original-", StringComparison.Ordinal)
            || normalized.StartsWith("x-auth-", StringComparison.Ordinal)
            || normalized.StartsWith("x-user", StringComparison.Ordinal)
            || normalized.StartsWith("x-remote-", StringComparison.Ordinal)
            || normalized.StartsWith("remote-user", StringComparison.Ordinal)
            || normalized.StartsWith("x-email", StringComparison.Ordinal)
            || normalized.StartsWith("x-portcullis-", StringComparison.Ordinal);
    }
}
