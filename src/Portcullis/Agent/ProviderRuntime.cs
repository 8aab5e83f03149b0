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
        _time = time;
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
        _metadataAddress = metadataAddress;
        _retriever = allowInsecure ? new OpenIdConnectConfigurationRetriever() : new TransportCheckingRetriever($"Portcullis:Providers:{name}");
        _documents = new HttpDocumentRetriever(backchannel) { RequireHttps = !authority.IsLoopback && !allowInsecure };
        Metadata = new ConfigurationManager<OpenIdConnectConfiguration>(metadataAddress, _retriever, _documents);
    }

    /// <summary>How often at most <see cref="RefetchMetadataAsync"/> asks the provider: tokens naming unknown keys cannot make the gateway hammer it.</summary>
    public static readonly TimeSpan MetadataRefetchInterval = TimeSpan.FromSeconds(10);

    /// <summary>How long callers wait for one such read, whatever the HTTP client's own timeouts.</summary>
    private static readonly TimeSpan MetadataReadLimit = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _time;
    private readonly string? _metadataAddress;
    private readonly IConfigurationRetriever<OpenIdConnectConfiguration>? _retriever;
    private readonly IDocumentRetriever? _documents;
    private readonly Lock _refetchLock = new();
    private Task<OpenIdConnectConfiguration?>? _refetch;
    private long _refetchStarted;

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

    /// <summary>
    /// The discovery document and keys read from the provider now, for a token signed with a key the cache does not know
    /// (the provider rotated its keys). <see cref="IConfigurationManager{T}.RequestRefresh"/> alone does not do it: since
    /// IdentityModel 8 it starts a fetch in the background and the next read still returns the old keys, so the first
    /// ID token, refreshed ID token or logout token signed with a new key was refused on every node. One read at a time,
    /// shared by every caller and not tied to any caller's cancellation, at most one per
    /// <see cref="MetadataRefetchInterval"/> whether it succeeded or not (within it, callers get the last read's answer),
    /// and waited for at most <see cref="MetadataReadLimit"/>. Null when the provider could not be read (the caller keeps
    /// its refusal) or publishes no metadata (a plain OAuth 2.0 preset). Never throws for the provider's sake: a refresh
    /// checks its new ID token after the provider rotated the refresh token, and must not lose the answer to an exception.
    /// </summary>
    public async Task<OpenIdConnectConfiguration?> RefetchMetadataAsync(CancellationToken cancellationToken)
    {
        if (_retriever is null)
        {
            return null;
        }

        Task<OpenIdConnectConfiguration?> read;
        lock (_refetchLock)
        {
            if (_refetch is null || (_refetch.IsCompleted && _time.GetElapsedTime(_refetchStarted) >= MetadataRefetchInterval))
            {
                _refetchStarted = _time.GetTimestamp();
                _refetch = ReadMetadataAsync();
            }

            read = _refetch;
        }

        try
        {
            return await read.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private async Task<OpenIdConnectConfiguration?> ReadMetadataAsync()
    {
        await Task.Yield(); // the read starts outside the caller's lock
        // The cache catches up in the background; callers do not wait for it.
        Metadata.RequestRefresh();
        using var limit = new CancellationTokenSource(MetadataReadLimit, _time);
        try
        {
            return await _retriever!.GetConfigurationAsync(_metadataAddress!, _documents!, limit.Token).WaitAsync(limit.Token);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            return null;
        }
    }
}
