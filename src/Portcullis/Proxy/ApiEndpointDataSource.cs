using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Portcullis.Configuration;

namespace Portcullis.Proxy;

/// <summary>
/// The endpoints of the configured API routes, rebuilt from the options in force after each accepted configuration
/// reload; routing picks up the new set through <see cref="GetChangeToken"/>, so a route added to the file answers
/// without a restart and a removed one stops answering.
/// </summary>
internal sealed class ApiEndpointDataSource(ReloadableOptions options, IServiceProvider services) : EndpointDataSource
{
    private Built? _built;
    private ApiProxy? _proxy;

    // The proxy is a singleton: taken from the application's services once, on the first request, rather than through
    // the request's services, which would create a request scope for every proxied call (issue 18).
    private ApiProxy Proxy => _proxy ??= services.GetRequiredService<ApiProxy>();

    public override IReadOnlyList<Endpoint> Endpoints
    {
        get
        {
            var current = options.Current;
            var built = _built;
            if (built is null || !ReferenceEquals(built.Source, current))
            {
                _built = built = new Built(current, Create(current));
            }

            return built.Endpoints;
        }
    }

    public override IChangeToken GetChangeToken() => options.GetChangeToken();

    private List<Endpoint> Create(PortcullisOptions options)
    {
        var endpoints = new List<Endpoint>(options.Apis.Count * 2);
        foreach (var (name, api) in options.Apis)
        {
            var route = ApiRoute.From(name, api, options);
            RequestDelegate forward = context => Proxy.ForwardAsync(context, route);
            // Routing matches the decoded, normalised path only; the query never takes part (SECURITY.md item 31).
            endpoints.Add(Endpoint(route, forward, route.PathPrefix));
            endpoints.Add(Endpoint(route, forward, route.PathPrefix + "/{**rest}"));
        }

        return endpoints;
    }

    private static RouteEndpoint Endpoint(ApiRoute route, RequestDelegate forward, string pattern)
    {
        var builder = new RouteEndpointBuilder(forward, RoutePatternFactory.Parse(pattern), order: 0)
        {
            DisplayName = $"Portcullis API route {route.Name}: {pattern}",
        };
        // No CORS metadata: UsePortcullis runs the CORS middleware with the gateway's policy for an API call that names
        // an origin, and skips it for one that does not (issue 18).
        builder.Metadata.Add(route);
        return (RouteEndpoint)builder.Build();
    }

    /// <summary>Endpoints together with the options they came from, swapped as one reference.</summary>
    private sealed record Built(PortcullisOptions Source, List<Endpoint> Endpoints);
}
