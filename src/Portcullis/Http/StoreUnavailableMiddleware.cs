using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Portcullis.Primitives;
using Portcullis.Storage;

namespace Portcullis.Http;

/// <summary>
/// Turns "the store is unreachable" in any request into 503 <c>store_unavailable</c> with <c>Retry-After</c>, in one
/// place: not a 500, and not a logout, since the session may well still exist once the store is back (issue 7).
/// </summary>
internal sealed class StoreUnavailableMiddleware(RequestDelegate next, StoreFailures failures, ILogger<StoreUnavailableMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception exception) when (failures.IsUnavailable(exception) && !context.Response.HasStarted)
        {
            await AnswerAsync(context, exception, logger);
        }
    }

    /// <summary>The 503 for a request the store could not serve; also the proxy's, which API routes do not pass through this middleware for.</summary>
    public static Task AnswerAsync(HttpContext context, Exception exception, ILogger logger)
    {
        Diagnostics.Log.StoreUnavailable(logger, context.Request.Method, context.Request.Path.Value ?? "/", exception.GetType().Name);
        context.Response.Clear();
        // A person sent back by the provider to the callback reads a page, not JSON.
        return (context.GetEndpoint()?.Metadata.GetMetadata<NavigationEndpoint>() is null
            ? ErrorResponses.Json(PortcullisError.StoreUnavailable)
            : ErrorResponses.ForNavigation(context, PortcullisError.StoreUnavailable)).ExecuteAsync(context);
    }
}
