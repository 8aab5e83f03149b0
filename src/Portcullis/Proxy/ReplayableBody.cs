using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Portcullis.Proxy;

/// <summary>
/// Makes a request replayable for the one retry after an upstream 401: a body of known length up to the route's
/// <c>RetryBodyLimit</c> is read into memory first; larger or unknown-length bodies stream and are never retried,
/// so nothing large is ever buffered.
/// </summary>
internal static class ReplayableBody
{
    public static async Task<bool> TryPrepareAsync(HttpContext context, int limit)
    {
        var request = context.Request;
        var canHaveBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.ContentLength > 0;
        if (!canHaveBody || request.ContentLength == 0)
        {
            return true;
        }

        if (request.ContentLength is not { } length || length > limit)
        {
            return false;
        }

        var buffer = new byte[length];
        await request.Body.ReadExactlyAsync(buffer, context.RequestAborted);
        request.Body = new MemoryStream(buffer, writable: false);
        return true;
    }

    public static void Rewind(HttpContext context)
    {
        if (context.Request.Body is MemoryStream { CanSeek: true } buffered)
        {
            buffered.Position = 0;
        }
    }
}
