using Microsoft.AspNetCore.Http;

namespace Portcullis.Primitives;

/// <summary>
/// Marks an answer as never to be stored by any cache. On the lowest floor because both the gateway's own endpoints
/// (<c>Http.SecurityHeaders</c>) and the session layer (stateless cookies written onto proxied answers) need it.
/// </summary>
internal static class ResponseCaching
{
    public static void Forbid(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
    }
}
