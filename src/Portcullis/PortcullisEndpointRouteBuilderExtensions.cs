using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Configuration;
using Portcullis.Endpoints;
using Portcullis.Http;
using Portcullis.Primitives;
using Portcullis.Proxy;
using Portcullis.Storage;

namespace Portcullis;

public static class PortcullisEndpointRouteBuilderExtensions
{
    /// <summary>Maps the gateway's endpoints under <c>BasePath</c> (default <c>/bff</c>), the configured API routes and <c>/healthz</c>.</summary>
    public static IEndpointRouteBuilder MapPortcullis(this IEndpointRouteBuilder endpoints)
    {
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<PortcullisOptions>>().Value;
        var bff = endpoints.MapGroup(options.BasePath);
        bff.MapGet("/login", LoginEndpoints.LoginAsync).RequireRateLimiting(GatewayRateLimiting.LoginPolicy).WithMetadata(NavigationEndpoint.Instance);
        bff.MapGet("/callback/{provider}", LoginEndpoints.CallbackAsync).RequireRateLimiting(GatewayRateLimiting.LoginPolicy).WithMetadata(NavigationEndpoint.Instance);
        // Called by the provider's server, not a browser: no CSRF header; the signed single-use logout token is the credential.
        bff.MapPost("/backchannel-logout/{provider}", BackchannelLogoutEndpoint.HandleAsync).DisableAntiforgery()
            .RequireRateLimiting(GatewayRateLimiting.BackchannelLogoutPolicy);

        // Fetched by the provider's server through the client's jwks_uri: public keys only, no CSRF header.
        bff.MapGet("/jwks/{provider}", JwksEndpoint.Get);
        // Fetched by upstreams of Token: assertion routes to verify what the gateway signs (ADR 0041).
        endpoints.MapGet("/.well-known/portcullis/jwks", JwksEndpoint.GetAssertionKeys);

        // JSON endpoints: the anti-forgery check runs before anything else (SECURITY.md item 6).
        var json = bff.MapGroup("/").AddEndpointFilter(async (context, next) =>
        {
            SecurityHeaders.NoStore(context.HttpContext.Response);
            var guard = context.HttpContext.RequestServices.GetRequiredService<CsrfGuard>();
            return guard.Check(context.HttpContext.Request) is { } error ? ErrorResponses.Json(error) : await next(context);
        }).RequireCors(PortcullisCors.PolicyName);
        json.MapGet("/user", UserEndpoints.UserAsync);
        json.MapPost("/logout", UserEndpoints.LogoutAsync);
        json.MapPost("/link", LoginEndpoints.LinkAsync).RequireRateLimiting(GatewayRateLimiting.LoginPolicy);
        json.MapGet("/sessions", SessionEndpoints.ListAsync);
        json.MapDelete("/sessions/{handle}", SessionEndpoints.DeleteAsync);
        json.MapGet("/providers", (ProviderRegistry providers) =>
            Results.Json(providers.All.Select(p => new ProviderInfo(p.Name, p.Options.DisplayName!)).ToArray(), EndpointJsonContext.Default.ProviderInfoArray));

        if (options.ForwardAuth.Enabled)
        {
            // Any method: nginx's sub-request and Envoy's check keep the original one. The path after the endpoint's is
            // Envoy's original path. Called by the front proxy, never by a browser: no CORS.
            var forwardAuth = endpoints.ServiceProvider.GetRequiredService<ForwardAuth>();
            bff.Map(options.ForwardAuth.Path, forwardAuth.HandleAsync);
            bff.Map(options.ForwardAuth.Path + "/{**original}", forwardAuth.HandleAsync);
        }

        if (options.Admin.Policy is { } adminPolicy)
        {
            AdminEndpoints.Map(bff, adminPolicy, options);
        }

        // Anything else under the prefix is an API-style miss: JSON, never a login redirect (SECURITY.md item 33).
        bff.Map("/{**rest}", () => ErrorResponses.Json(new PortcullisError(404, "not_found", "There is no such gateway endpoint.")));

        endpoints.MapGet("/healthz", async (IStoreLifecycle store, CancellationToken cancellationToken) =>
            await store.IsHealthyAsync(cancellationToken)
                ? Results.Json(new HealthReport("healthy", "healthy"), EndpointJsonContext.Default.HealthReport)
                : Results.Json(new HealthReport("unhealthy", "unreachable"), EndpointJsonContext.Default.HealthReport, statusCode: 503));

        endpoints.MapGet("/healthz/live", HealthEndpoints.Live);
        endpoints.MapGet("/healthz/ready", HealthEndpoints.ReadyAsync);

        MapApis(endpoints);
        return endpoints;
    }

    /// <summary>The API routes come from a data source of their own, so a configuration reload can replace them.</summary>
    private static void MapApis(IEndpointRouteBuilder endpoints) =>
        endpoints.DataSources.Add(new ApiEndpointDataSource(endpoints.ServiceProvider.GetRequiredService<ReloadableOptions>(), endpoints.ServiceProvider));
}
