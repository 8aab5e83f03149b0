using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Http;
using Portcullis.Http;
using Portcullis.Proxy;

namespace Portcullis;

public static class PortcullisApplicationBuilderExtensions
{
    /// <summary>
    /// Adds the gateway's security response headers to everything it answers itself (pages, static files, JSON);
    /// proxied API answers pass through as the upstream sent them, and the login rate limits.
    /// Call before static files; routing must run before the rate limiter, so this adds it too, then CORS and authorization
    /// (for <c>RequireAuthorization</c> on the app's own endpoints). Forwarded headers from <c>TrustedProxies</c> come first.
    /// </summary>
    public static IApplicationBuilder UsePortcullis(this IApplicationBuilder app)
    {
        TrustedProxies.Use(app);
        app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var httpContext = (HttpContext)state;
                if (httpContext.GetEndpoint()?.Metadata.GetMetadata<ApiRoute>() is null)
                {
                    SecurityHeaders.Apply(httpContext.Response);
                }

                return Task.CompletedTask;
            }, context);
            return next(context);
        });
        app.UseMiddleware<StoreUnavailableMiddleware>();
        app.UseRouting();
        app.UseCors();
        app.UseRateLimiter();
        app.UseAuthorization();
        return app;
    }
}
