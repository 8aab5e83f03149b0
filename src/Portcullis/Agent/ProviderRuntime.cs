using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Portcullis.Configuration;

namespace Portcullis.Agent;

/// <summary>One configured provider with what was derived from it at start: its redirect URI and metadata cache.</summary>
internal sealed class ProviderRuntime
{
    public ProviderRuntime(string name, ProviderOptions options, string publicOrigin, string basePath, HttpClient backchannel)
    {
        Name = name;
        Options = options;
        // Fixed from configuration, never from the Host header (SECURITY.md item 15).
        RedirectUri = $"{publicOrigin}{basePath}/callback/{name}";
        var authority = new Uri(options.Authority!);
        var metadataAddress = options.Authority!.TrimEnd('/') + "/.well-known/openid-configuration";
        Metadata = new ConfigurationManager<OpenIdConnectConfiguration>(
            metadataAddress,
            new OpenIdConnectConfigurationRetriever(),
            new HttpDocumentRetriever(backchannel) { RequireHttps = !authority.IsLoopback });
    }

    public string Name { get; }

    public ProviderOptions Options { get; }

    public string RedirectUri { get; }

    /// <summary>Discovery document and signing keys, cached and refreshed by the library.</summary>
    public ConfigurationManager<OpenIdConnectConfiguration> Metadata { get; }
}
