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

/// <summary>
/// The gateway's own access tokens for <c>client</c> routes (client-credentials grant, RFC 6749 §4.4). A token is cached in
/// memory until <c>Refresh:Skew</c> before it expires (at most half its life); concurrent requests share one token request
/// (single-flight per key), so many calls cause one request at the provider. Never stored: a restart simply asks again.
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

    public Task<Outcome<string>> GetAsync(ClientTokenKey key, CancellationToken cancellationToken) =>
        GetAsync(key, rejected: null, cancellationToken);

    /// <summary>The upstream refused <paramref name="rejectedAccessToken"/>: get a new one unless another request already did.</summary>
    public Task<Outcome<string>> RenewRejectedAsync(ClientTokenKey key, string rejectedAccessToken, CancellationToken cancellationToken) =>
        GetAsync(key, rejectedAccessToken, cancellationToken);

    private async Task<Outcome<string>> GetAsync(ClientTokenKey key, string? rejected, CancellationToken cancellationToken)
    {
        var slot = _slots.GetOrAdd(key, _ => new Slot());
        if (Usable(slot.Current, rejected) is { } cached)
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
            if (Usable(slot.Current, rejected) is { } fetchedMeanwhile)
            {
                return fetchedMeanwhile;
            }

            using var timeout = new CancellationTokenSource(_requestTimeout, time);
            var outcome = await RequestAsync(key, timeout.Token);
            if (outcome.Value is { } token)
            {
                slot.Current = token;
                return token.AccessToken;
            }

            return outcome.Error!;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    private string? Usable(CachedToken? token, string? rejected) =>
        token is not null && token.RenewAt > time.GetUtcNow() && token.AccessToken != rejected ? token.AccessToken : null;

    private async Task<Outcome<CachedToken>> RequestAsync(ClientTokenKey key, CancellationToken cancellationToken)
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
            var request = new ClientCredentialsTokenRequest
            {
                Address = metadata.TokenEndpoint,
                Scope = key.Scope.Length == 0 ? null : key.Scope,
            };
            ProviderClient.Authenticate(request, provider);
            response = await httpClientFactory.CreateClient(ProviderRegistry.HttpClientName).RequestClientCredentialsTokenAsync(request, cancellationToken);
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

        var now = time.GetUtcNow();
        var renewAt = TokenSet.Create(response.AccessToken, null, null, response.ExpiresIn, null, now, _skew).RefreshDueAt ?? now + DefaultLifetime;
        Log.ClientTokenObtained(logger, key.Provider);
        return new CachedToken(response.AccessToken, renewAt);
    }

    private sealed record CachedToken(string AccessToken, DateTimeOffset RenewAt);

    private sealed class Slot
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public volatile CachedToken? Current;
    }
}
