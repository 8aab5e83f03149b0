using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Agent;

/// <summary>The configured providers by name.</summary>
internal sealed class ProviderRegistry
{
    public const string HttpClientName = "Portcullis.Provider";

    /// <summary>The client for refresh token requests: no timeout of its own, each request is bounded by
    /// <c>Refresh:TokenRequestDeadline</c> (a refresh is never cut short by the 10 s bound of other provider calls).</summary>
    public const string TokenRequestClientName = "Portcullis.Provider.TokenRequest";

    private readonly Dictionary<string, ProviderRuntime> _providers;

    public ProviderRegistry(IOptions<PortcullisOptions> options, IHttpClientFactory httpClientFactory, TimeProvider time)
    {
        var value = options.Value;
        _providers = value.Providers.ToDictionary(
            p => p.Key,
            p => new ProviderRuntime(p.Key, p.Value, value.PublicOrigin!, value.BasePath, httpClientFactory.CreateClient(HttpClientName), time),
            StringComparer.Ordinal);
    }

    public IReadOnlyCollection<ProviderRuntime> All => _providers.Values;

    public ProviderRuntime? Find(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            // The provider may be omitted when there is exactly one (DESIGN.md §3).
            return _providers.Count == 1 ? _providers.Values.First() : null;
        }

        return _providers.GetValueOrDefault(name);
    }
}
