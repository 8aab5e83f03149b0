using Portcullis.Configuration;

namespace Portcullis.Proxy;

/// <summary>
/// The configured API routes by path, for requests that did not come through routing: forward-auth matches the original
/// request of a front proxy here. Matching is what the route endpoints do (<see cref="ApiEndpointDataSource"/>): the path
/// is the route's prefix or below it, compared without regard to case; routes never nest (their validation refuses it).
/// </summary>
internal sealed class ApiRouteTable(ReloadableOptions options)
{
    private Built? _built;

    /// <summary>The route <paramref name="path"/> (decoded, dot segments already refused) belongs to, or null.</summary>
    public ApiRoute? Match(string path)
    {
        foreach (var route in Routes())
        {
            var prefix = route.PathPrefix;
            if (path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && (path.Length == prefix.Length || path[prefix.Length] == '/'))
            {
                return route;
            }
        }

        return null;
    }

    /// <summary>The routes of the configuration in force; rebuilt once after a reload changed it.</summary>
    private ApiRoute[] Routes()
    {
        var current = options.Current;
        var built = _built;
        if (built is null || !ReferenceEquals(built.Source, current))
        {
            _built = built = new Built(current, current.Apis.Select(api => ApiRoute.From(api.Key, api.Value, current)).ToArray());
        }

        return built.Routes;
    }

    /// <summary>Routes together with the options they came from, swapped as one reference.</summary>
    private sealed record Built(PortcullisOptions Source, ApiRoute[] Routes);
}
