using Portcullis.Configuration;

namespace Portcullis.Proxy;

/// <summary>A configured API route, resolved once at start.</summary>
internal sealed record ApiRoute(string Name, string PathPrefix, string Upstream, string TokenMode)
{
    public static ApiRoute From(string name, ApiRouteOptions options) =>
        new(name, options.Path!, options.Upstream!.TrimEnd('/'), options.Token);
}
