using System.Collections.Concurrent;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Primitives;
using Portcullis.Vault;

namespace Portcullis.Tokens;

/// <summary>Which client-credentials token: the provider that issues it and the scopes asked for.</summary>
internal sealed record ClientTokenKey(string Provider, string Scope);

/// <summary>A client-credentials access token and, when the provider binds tokens (DPoP), the key it is bound to.</summary>
internal sealed record ClientToken(string AccessToken, string? DPoPKey);

/// <summary>
/// The gateway's own access tokens for <c>client</c> routes (client-credentials grant, RFC 6749 §4.4). A token is cached in
/// memory until <c>Refresh:Skew</c> before it expires (at most half its life); concurrent requests share one token request
/// (single-flight per key), so many calls cause one request at the provider. Never stored: a restart simply asks again.
/// With <c>DPoP: true</c> each key gets its own ES256 key, made in memory and never written anywhere: its tokens are
/// requested with proofs (RFC 9449 §5, nonce challenges answered once) and must come back bound (<c>token_type</c> DPoP),
/// and the proxy sends them with a proof signed by that key. A restart makes a new key and asks for a new token.
/// </summary>
internal sealed class ClientTokenService(
    ProviderRegistry providers,
    IHttpClientFactory httpClientFactory,
    IOptions<PortcullisOptions> options,
    TimeProvider time,
    ILogger<ClientTokenService> logger)
{
    /// <summary>How long a token without <c>expires_in</c> is reused.</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<ClientTokenKey, Slot> _slots = new();
    private readonly TimeSpan _skew = options.Value.Refresh.Skew;
    private readonly TimeSpan _requestTimeout = options.Value.Refresh.Timeout;
    private readonly TimeSpan _waitLimit = options.Value.Refresh.Timeout * 1.5;

    public Task<Outcome<ClientToken>> GetAsync(ClientTokenKey key, CancellationToken cancellationToken) =>
        GetAsync(key, rejected: null, cancellationToken);

    /// <summary>The upstream refused <paramref name="rejectedAccessToken"/>: get a new one unless another request already did.</summary>
    public Task<Outcome<ClientToken>> RenewRejectedAsync(ClientTokenKey key, string rejectedAccessToken, CancellationToken cancellationToken) =>
        GetAsync(key, rejectedAccessToken, cancellationToken);

    private async Task<Outcome<ClientToken>> GetAsync(ClientTokenKey key, string? rejected, CancellationToken cancellationToken)
    {
        var slot = _slots.GetOrAdd(key, NewSlot);
        if (Usable(slot, rejected) is { } cached)
        {
            return cached;
        }

        if (!await slot.Gate.WaitAsync(_waitLimit, cancellationToken))
        {
            return PortcullisError.RefreshUnavailable;
        }

        try
        {
            // Whoever held the gate before us may have fetched a token already.
            if (Usable(slot, rejected) is { } fetchedMeanwhile)
            {
                return fetchedMeanwhile;
            }

            using var timeout = new CancellationTokenSource(_requestTimeout, time);
            var outcome = await RequestAsync(key, slot.DPoPKey, timeout.Token);
            if (outcome.Value is { } token)
            {
                slot.Current = token;
                return new ClientToken(token.AccessToken, slot.DPoPKey);
            }

            return outcome.Error!;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    private ClientToken? Usable(Slot slot, string? rejected) =>
        slot.Current is { } token && token.RenewAt > time.GetUtcNow() && token.AccessToken != rejected
            ? new ClientToken(token.AccessToken, slot.DPoPKey)
            : null;

    private Slot NewSlot(ClientTokenKey key)
    {
        if (providers.Find(key.Provider)?.Options.DPoP != true)
        {
            return new Slot(null);
        }

        using var dpopKey = DPoPKey.Create();
        return new Slot(dpopKey.Export());
    }

    private async Task<Outcome<CachedToken>> RequestAsync(ClientTokenKey key, string? dpopKey, CancellationToken cancellationToken)
    {
        var provider = providers.Find(key.Provider);
        if (provider is null)
        {
            return PortcullisError.ProviderUnavailable;
        }

        TokenResponse response;
        try
        {
            var metadata = await provider.Metadata.GetConfigurationAsync(cancellationToken);
            response = await ProviderClient.WithDPoPAsync(provider, metadata.TokenEndpoint, dpopKey, proof =>
            {
                var request = new ClientCredentialsTokenRequest
                {
                    Address = metadata.TokenEndpoint,
                    Scope = key.Scope.Length == 0 ? null : key.Scope,
                    DPoPProofToken = proof,
                };
                ProviderClient.Authenticate(request, provider);
                return httpClientFactory.CreateClient(ProviderRegistry.HttpClientName).RequestClientCredentialsTokenAsync(request, cancellationToken);
            }, time);
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception))
        {
            Log.TokenRequestFailed(logger, key.Provider, exception.GetType().Name, 0);
            return PortcullisError.RefreshUnavailable;
        }

        if (response.IsError || string.IsNullOrEmpty(response.AccessToken))
        {
            Log.TokenRequestFailed(logger, key.Provider, ProviderErrors.Sanitize(response.Error), (int)response.HttpStatusCode);
            return PortcullisError.ProviderUnavailable;
        }

        if (dpopKey is not null && !string.Equals(response.TokenType, "DPoP", StringComparison.OrdinalIgnoreCase))
        {
            // A bearer token where a bound one was asked for would go upstream without its proof (RFC 9449 §5).
            Log.TokenRequestFailed(logger, key.Provider, "token_type is not DPoP", (int)response.HttpStatusCode);
            return PortcullisError.ProviderUnavailable;
        }

        var now = time.GetUtcNow();
        var renewAt = TokenSet.Create(response.AccessToken, null, null, response.ExpiresIn, null, now, _skew).RefreshDueAt ?? now + DefaultLifetime;
        Log.ClientTokenObtained(logger, key.Provider);
        return new CachedToken(response.AccessToken, renewAt);
    }

    private sealed record CachedToken(string AccessToken, DateTimeOffset RenewAt);

    private sealed class Slot(string? dpopKey)
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>The key this slot's tokens are bound to (SEC1 DER, base64), for the slot's life; null without DPoP.</summary>
        public string? DPoPKey { get; } = dpopKey;

        public volatile CachedToken? Current;
    }
}
