using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Portcullis.Agent.Presets;
using Portcullis.Configuration;

namespace Portcullis.Agent;

/// <summary>One configured provider with what was derived from it at start: its preset, redirect URI and metadata.</summary>
internal sealed class ProviderRuntime
{
    public ProviderRuntime(string name, ProviderOptions options, string publicOrigin, string basePath, HttpClient backchannel, TimeProvider time)
    {
        Name = name;
        Options = options;
        ClientAssertions = ClientAssertions.For(options, time);
        Preset = ProviderPresets.For(options);
        // Fixed from configuration, never from the Host header (SECURITY.md item 15).
        RedirectUri = $"{publicOrigin}{basePath}/callback/{name}";
        Endpoints = Preset.ResolveEndpoints(options.Endpoints);
        if (Endpoints is { } endpoints)
        {
            // A plain OAuth 2.0 provider publishes no metadata: its endpoint table stands in for it, without issuer or keys.
            Metadata = new StaticConfigurationManager<OpenIdConnectConfiguration>(new OpenIdConnectConfiguration
            {
                AuthorizationEndpoint = endpoints.Authorization,
                TokenEndpoint = endpoints.Token,
                RevocationEndpoint = endpoints.Revocation,
            });
            return;
        }

        var authority = new Uri(options.Authority!);
        var metadataAddress = options.Authority!.TrimEnd('/') + "/.well-known/openid-configuration";
        var allowInsecure = options.AllowInsecureTransport;
        Metadata = new ConfigurationManager<OpenIdConnectConfiguration>(
            metadataAddress,
            allowInsecure ? new OpenIdConnectConfigurationRetriever() : new TransportCheckingRetriever($"Portcullis:Providers:{name}"),
            new HttpDocumentRetriever(backchannel) { RequireHttps = !authority.IsLoopback && !allowInsecure });
    }

    public string Name { get; }

    public ProviderOptions Options { get; }

    public ProviderPreset Preset { get; }

    public string RedirectUri { get; }

    /// <summary>
    /// The provider's latest <c>DPoP-Nonce</c> (RFC 9449 §8): sent in the next proof, replaced by each one it gives.
    /// A lost update only costs one more nonce challenge.
    /// </summary>
    public string? DPoPNonce { get; set; }

    /// <summary>The client's <c>private_key_jwt</c> keys and assertions; null when it authenticates with a secret.</summary>
    public ClientAssertions? ClientAssertions { get; }

    /// <summary>The endpoint table of a plain OAuth 2.0 preset; null for OpenID Connect providers.</summary>
    public OAuthEndpoints? Endpoints { get; }

    /// <summary>Discovery document and signing keys, cached and refreshed by the library (a fixed table for plain OAuth 2.0).</summary>
    public IConfigurationManager<OpenIdConnectConfiguration> Metadata { get; }
}
