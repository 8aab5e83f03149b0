using Duende.IdentityModel.Client;
using Portcullis.Agent;
using Portcullis.Vault;

namespace Portcullis.Tokens;

/// <summary>
/// One refresh token request and the token set its answer makes, shared by the store-backed refresh
/// (<see cref="AccessTokenService"/>) and the stateless one (ADR 0033): what is around it (leases, markers, cookies)
/// differs, the exchange does not.
/// </summary>
internal static class RefreshTokenExchange
{
    public static Task<TokenResponse> SendAsync(
        ProviderRuntime provider, string tokenEndpoint, TokenSet tokens, IHttpClientFactory httpClientFactory, TimeProvider time, CancellationToken cancellationToken) =>
        ProviderClient.WithDPoPAsync(provider, tokenEndpoint, tokens.DPoPKey, proof =>
        {
            var request = new RefreshTokenRequest { Address = tokenEndpoint, RefreshToken = tokens.RefreshToken!, DPoPProofToken = proof };
            ProviderClient.Authenticate(request, provider);
            return httpClientFactory.CreateClient(ProviderRegistry.TokenRequestClientName).RequestRefreshTokenAsync(request, cancellationToken);
        }, time);

    /// <summary>The tokens a successful answer gives: the previous refresh and ID tokens stay when it sent none (no rotation).</summary>
    public static TokenSet Refreshed(TokenResponse response, TokenSet previous, DateTimeOffset now, TimeSpan skew) =>
        RefreshTokenLifetime.Apply(
            TokenSet.Create(
                response.AccessToken!,
                response.RefreshToken ?? previous.RefreshToken,
                response.IdentityToken ?? previous.IdToken,
                response.ExpiresIn,
                response.Scope ?? previous.Scope,
                now,
                skew),
            response,
            now,
            previous: previous) with { DPoPKey = previous.DPoPKey };
}
