using Duende.IdentityModel.Client;
using Portcullis.Agent;
using Portcullis.Configuration;
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
        ProviderRuntime provider, string tokenEndpoint, TokenSet tokens, IHttpClientFactory httpClientFactory, TimeProvider time, CancellationToken cancellationToken,
        TokenAudience? audience = null) =>
        ProviderClient.WithDPoPAsync(provider, tokenEndpoint, tokens.DPoPKey, proof =>
        {
            var request = new RefreshTokenRequest { Address = tokenEndpoint, RefreshToken = tokens.RefreshToken!, DPoPProofToken = proof };
            AudienceTokens.Name(request, audience); // a route's own API (ADR 0043): resource or audience named on the refresh
            ProviderClient.Authenticate(request, provider);
            return httpClientFactory.CreateClient(ProviderRegistry.TokenRequestClientName).RequestRefreshTokenAsync(request, cancellationToken);
        }, time);

    /// <summary>
    /// The tokens a successful answer to the grant's own refresh gives: the previous refresh and ID tokens stay when it
    /// sent none (no rotation); the DPoP key, the per-API tokens and the resources named at sign-in (ADR 0043) carry over.
    /// </summary>
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
            previous: previous) with { DPoPKey = previous.DPoPKey, AudienceTokens = previous.AudienceTokens, SignInResources = previous.SignInResources };
}
