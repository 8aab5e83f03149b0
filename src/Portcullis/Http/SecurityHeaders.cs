using Microsoft.AspNetCore.Http;

namespace Portcullis.Http;

/// <summary>Response headers for the gateway's own pages and JSON (SECURITY.md item 35). Proxied API answers pass through untouched.</summary>
internal static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'";

    public static void Apply(HttpResponse response)
    {
        var headers = response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        if (!headers.ContainsKey("Referrer-Policy"))
        {
            headers["Referrer-Policy"] = "same-origin";
        }
    }

    /// <summary>Login and callback URLs carry state and codes: never let them leak in a Referer (SECURITY.md item 17).</summary>
    public static void NoReferrerNoStore(HttpResponse response)
    {
        response.Headers["Referrer-Policy"] = "no-referrer";
        NoStore(response);
    }

    public static void NoStore(HttpResponse response) => Primitives.ResponseCaching.Forbid(response);
}
