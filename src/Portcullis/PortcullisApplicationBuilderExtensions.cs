using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
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
        if (app.ApplicationServices.GetRequiredService<IOptions<Configuration.PortcullisOptions>>().Value.Session.Mode == Configuration.SessionModes.SplitKey)
        {
            // The holder of the split-key session's data key for this request and the refresh it starts (ADR 0032);
            // server mode's pipeline stays as it was.
            app.Use(async (context, next) =>
            {
                Vault.SessionKeyScope.Begin();
                await next(context);
            });
        }

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
