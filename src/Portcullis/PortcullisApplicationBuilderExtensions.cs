using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Portcullis.Http;
using Portcullis.Proxy;

namespace Portcullis;

public static class PortcullisApplicationBuilderExtensions
{
    /// <summary>
    /// Adds the gateway's security response headers to everything it answers itself (pages, static files, JSON);
    /// proxied API answers pass through as the upstream sent them, and the login rate limits.
    /// Call before static files; routing must run before the rate limiter, so this adds it too, then CORS, authentication
    /// and authorization (for <c>RequireAuthorization</c> on the app's own endpoints; API routes skip both, judging their
    /// session and policy themselves). Forwarded headers from <c>TrustedProxies</c> come first.
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
        // CORS as before for the app's own endpoints. An API route has nothing to answer to a request without Origin (a
        // same-origin GET), and the middleware would create a request scope and an items dictionary for each one, so
        // it runs, with the gateway's policy, only for calls that name an origin, preflights included (issue 18).
        app.UseWhen(IsNotApiRoute, static branch => branch.UseCors());
        app.UseWhen(IsApiCallWithOrigin, static branch => branch.UseCors(PortcullisCors.PolicyName));
        // Authentication and authorization run after routing and only for the app's own endpoints: an API route judges
        // its session and policy itself (ProxyAdmission), so for every proxied call these middlewares would only create
        // a request scope, a handler and an items dictionary to answer "no result" (issue 18). Adding them here also
        // keeps WebApplication from adding its own authentication in front of the whole pipeline.
        app.UseWhen(IsNotApiRoute, static branch => branch.UseAuthentication());
        app.UseRateLimiter();
        app.UseWhen(IsNotApiRoute, static branch => branch.UseAuthorization());
        MarkAuthenticationAdded(app);
        return app;
    }

    private static bool IsNotApiRoute(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<ApiRoute>() is null;

    private static bool IsApiCallWithOrigin(HttpContext context) => !IsNotApiRoute(context) && context.Request.Headers.ContainsKey(HeaderNames.Origin);

    /// <summary>
    /// <c>UseAuthentication</c> and <c>UseAuthorization</c> mark the builder they are called on, and <c>WebApplication</c>
    /// adds either middleware in front of the whole pipeline unless its mark is on the application; a branch's builder
    /// holds a copy of the marks, so they are set here on the application too. <c>MiddlewareOrderTests</c> fails if a
    /// framework version stops honouring them (authentication would then run for API routes again).
    /// </summary>
    private static void MarkAuthenticationAdded(IApplicationBuilder app)
    {
        app.Properties["__AuthenticationMiddlewareSet"] = true;
        app.Properties["__AuthorizationMiddlewareSet"] = true;
    }
}
