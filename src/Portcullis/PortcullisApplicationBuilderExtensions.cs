using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Portcullis.Authorization;
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
    /// API routes judge their session and policy themselves (<c>ProxyAdmission</c>), so they skip what would do nothing
    /// for them (ADR 0045).
    /// </summary>
    public static IApplicationBuilder UsePortcullis(this IApplicationBuilder app)
    {
        UseAuthenticationWhenItHasWork(app);
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

        app.UseRouting();
        // The security headers and the store-outage answer for everything the gateway answers itself. A proxied answer
        // keeps the upstream's headers, and the proxy turns a store outage into the same 503 itself, so API routes skip
        // both, a callback and an async frame per call (issue 18); unless the app's fallback policy runs for them too
        // (below), which may read the session.
        var fallbackPolicy = HasFallbackPolicy(app);
        app.UseWhen(IsNotApiRoute, static branch => branch.Use(static (context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                SecurityHeaders.Apply(((HttpContext)state).Response);
                return Task.CompletedTask;
            }, context);
            return next(context);
        }));
        if (fallbackPolicy)
        {
            app.UseMiddleware<StoreUnavailableMiddleware>();
        }
        else
        {
            app.UseWhen(IsNotApiRoute, static branch => branch.UseMiddleware<StoreUnavailableMiddleware>());
        }

        // CORS as before for the app's own endpoints. An API route has nothing to answer to a request without Origin (a
        // same-origin GET), and the middleware would create a request scope and an items dictionary for each one, so
        // it runs, with the gateway's policy, only for calls that name an origin, preflights included (issue 18).
        app.UseWhen(IsNotApiRoute, static branch => branch.UseCors());
        app.UseWhen(IsApiCallWithOrigin, static branch => branch.UseCors(PortcullisCors.PolicyName));
        app.UseRateLimiter();
        UseAuthorizationSkippingApiRoutesWithoutFallback(app, fallbackPolicy);
        return app;
    }

    /// <summary>
    /// Authentication where <c>WebApplication</c> would put it (in front, before routing) when it has something to do: a
    /// default scheme other than <c>Portcullis</c>, or a scheme that handles requests itself (a remote sign-in's
    /// callback). When <c>Portcullis</c> is the only one, it is the automatic default, and before routing its handler
    /// answers "no result" without touching the session (<c>PortcullisAuthenticationHandler</c>): the middleware would only
    /// build a request scope, a handler and four tasks per request, so it is left out, and the mark
    /// <c>UseAuthentication</c> leaves is set so <c>WebApplication</c> does not add it either. Policies name the scheme, so
    /// they authenticate through it whatever the middleware does.
    /// </summary>
    private static void UseAuthenticationWhenItHasWork(IApplicationBuilder app)
    {
        var schemes = app.ApplicationServices.GetService<IAuthenticationSchemeProvider>();
        if (schemes is null)
        {
            return;
        }

        // Decided once, at start-up; the default providers answer synchronously.
        var defaultScheme = schemes.GetDefaultAuthenticateSchemeAsync().GetAwaiter().GetResult();
        var requestHandlers = schemes.GetRequestHandlerSchemesAsync().GetAwaiter().GetResult();
        if ((defaultScheme is null || defaultScheme.Name == PortcullisAuthenticationDefaults.AuthenticationScheme) && !requestHandlers.Any())
        {
            app.Properties[AuthenticationMiddlewareSetKey] = true;
            return;
        }

        app.UseAuthentication();
    }

    /// <summary>
    /// The authorization middleware for the app's own endpoints. An API route has no authorization metadata, so for it the
    /// middleware only applies the app's fallback policy: when the app has one, API routes keep it as before; when it has
    /// none, they skip a middleware that would create a request scope and an items dictionary to do nothing (issue 18).
    /// The branch's builder holds a copy of the mark <c>UseAuthorization</c> leaves, so it is set on the application too,
    /// or <c>WebApplication</c> would add a second one in front.
    /// </summary>
    private static void UseAuthorizationSkippingApiRoutesWithoutFallback(IApplicationBuilder app, bool fallbackPolicy)
    {
        if (fallbackPolicy)
        {
            app.UseAuthorization();
            return;
        }

        app.UseWhen(IsNotApiRoute, static branch => branch.UseAuthorization());
        app.Properties[AuthorizationMiddlewareSetKey] = true;
    }

    /// <summary>Whether the app has a fallback authorization policy (decided once; the default provider answers synchronously).</summary>
    private static bool HasFallbackPolicy(IApplicationBuilder app) =>
        app.ApplicationServices.GetService<IAuthorizationPolicyProvider>()?.GetFallbackPolicyAsync().GetAwaiter().GetResult() is not null;

    // The marks UseAuthentication and UseAuthorization leave on a builder, which WebApplication reads before adding
    // either in front of the pipeline. Framework internals, not an API: MiddlewareOrderTests fails if they stop working.
    private const string AuthenticationMiddlewareSetKey = "__AuthenticationMiddlewareSet";
    private const string AuthorizationMiddlewareSetKey = "__AuthorizationMiddlewareSet";

    private static bool IsNotApiRoute(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<ApiRoute>() is null;

    private static bool IsApiCallWithOrigin(HttpContext context) => !IsNotApiRoute(context) && context.Request.Headers.ContainsKey(HeaderNames.Origin);
}
