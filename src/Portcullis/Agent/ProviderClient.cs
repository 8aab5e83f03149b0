using System.Text.Json;
using Duende.IdentityModel.Client;
using Portcullis.Configuration;

namespace Portcullis.Agent;

/// <summary>Back-channel calls to a provider's endpoints, authenticated as the confidential client (SECURITY.md item 10).</summary>
internal sealed class ProviderClient(IHttpClientFactory httpClientFactory, TimeProvider time)
{
    public Task<TokenResponse> RedeemCodeAsync(ProviderRuntime provider, string tokenEndpoint, string code, string codeVerifier, string? dpopKey, CancellationToken cancellationToken) =>
        WithDPoPAsync(provider, tokenEndpoint, dpopKey, proof =>
        {
            var request = new AuthorizationCodeTokenRequest
            {
                Address = tokenEndpoint,
                Code = code,
                CodeVerifier = codeVerifier,
                // Identical to the one in the authorization request (RFC 6749 §4.1.3).
                RedirectUri = provider.RedirectUri,
                DPoPProofToken = proof,
            };
            Authenticate(request, provider);
            return Http().RequestAuthorizationCodeTokenAsync(request, cancellationToken);
        });

    /// <summary>
    /// Sends a token request with a DPoP proof signed by the grant's key (none when <paramref name="dpopKey"/> is null),
    /// carrying the provider's latest nonce; a <c>use_dpop_nonce</c> answer is retried once with the nonce it brings
    /// (RFC 9449 §8), with a fresh proof and a fresh client assertion (<paramref name="send"/> builds the whole request).
    /// </summary>
    public static async Task<TokenResponse> WithDPoPAsync(ProviderRuntime provider, string tokenEndpoint, string? dpopKey, Func<string?, Task<TokenResponse>> send, TimeProvider? time = null)
    {
        if (dpopKey is null)
        {
            return await TokenAnswer.CheckedAsync(await send(null));
        }

        using var key = DPoPKey.Import(dpopKey);
        var clock = time ?? TimeProvider.System;
        var target = new Uri(tokenEndpoint);
        var raw = await send(key.CreateProof("POST", target, clock.GetUtcNow(), nonce: provider.DPoPNonce));
        var challenge = RememberNonce(provider, raw);
        var response = await TokenAnswer.CheckedAsync(raw);
        if (response.IsError && response.Error == "use_dpop_nonce" && challenge is not null)
        {
            raw = await send(key.CreateProof("POST", target, clock.GetUtcNow(), nonce: challenge));
            RememberNonce(provider, raw);
            response = await TokenAnswer.CheckedAsync(raw);
        }

        return response;
    }

    /// <summary>The answer's <c>DPoP-Nonce</c> (a header, readable whatever the body), kept for the next proof.</summary>
    private static string? RememberNonce(ProviderRuntime provider, TokenResponse response)
    {
        if (response.DPoPNonce is not { Length: > 0 } nonce)
        {
            return null;
        }

        provider.DPoPNonce = nonce;
        return nonce;
    }

    /// <summary>
    /// Pushes the authorization request (RFC 9126) authenticated as the client; the browser then carries only the
    /// returned <c>request_uri</c>. <paramref name="parameters"/> are the authorization request's, without
    /// <c>client_id</c> and <c>response_type</c> (the library adds both).
    /// </summary>
    public async Task<PushedAuthorizationResponse> PushAuthorizationAsync(
        ProviderRuntime provider, string endpoint, IReadOnlyDictionary<string, string?> parameters, IReadOnlyList<string> resources, CancellationToken cancellationToken)
    {
        var request = new PushedAuthorizationRequest { Address = endpoint, ResponseType = "code", Resource = [.. resources] };
        foreach (var (name, value) in parameters)
        {
            if (value is not null && name is not ("client_id" or "response_type"))
            {
                request.Parameters.Add(name, value);
            }
        }

        Authenticate(request, provider);
        return await Http().PushAuthorizationAsync(request, cancellationToken);
    }

    public async Task<Dictionary<string, JsonElement>?> GetUserInfoAsync(string userInfoEndpoint, string accessToken, CancellationToken cancellationToken)
    {
        var response = await Http().GetUserInfoAsync(new UserInfoRequest { Address = userInfoEndpoint, Token = accessToken }, cancellationToken);
        if (response.IsError || response.Json is not { ValueKind: JsonValueKind.Object } json)
        {
            return null;
        }

        return json.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
    }

    public async Task<TokenRevocationResponse> RevokeAsync(ProviderRuntime provider, string revocationEndpoint, string token, string tokenTypeHint, CancellationToken cancellationToken)
    {
        var request = new TokenRevocationRequest { Address = revocationEndpoint, Token = token, TokenTypeHint = tokenTypeHint };
        Authenticate(request, provider);
        return await Http().RevokeTokenAsync(request, cancellationToken);
    }

    /// <summary>
    /// Userinfo with a DPoP-bound access token (RFC 9449 §7): <c>Authorization: DPoP</c> and a proof with <c>ath</c>, never
    /// the bearer scheme; a <c>use_dpop_nonce</c> challenge is answered once with the nonce it brings.
    /// </summary>
    public async Task<Dictionary<string, JsonElement>?> GetUserInfoWithDPoPAsync(ProviderRuntime provider, string userInfoEndpoint, string accessToken, string dpopKey, CancellationToken cancellationToken)
    {
        using var key = DPoPKey.Import(dpopKey);
        var target = new Uri(userInfoEndpoint);
        var nonce = provider.DPoPNonce;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, target);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("DPoP", accessToken);
            request.Headers.Add("DPoP", key.CreateProof("GET", target, time.GetUtcNow(), accessToken, nonce));
            using var response = await Http().SendAsync(request, cancellationToken);
            if (DPoPChallenge.NonceOf(response) is { } fresh)
            {
                provider.DPoPNonce = fresh;
                if (DPoPChallenge.AsksForNonce(response) && attempt == 0)
                {
                    nonce = fresh;
                    continue;
                }
            }

            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            try
            {
                using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
                return json.RootElement.ValueKind == JsonValueKind.Object
                    ? json.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal)
                    : null;
            }
            catch (JsonException)
            {
                // Not JSON (a signed userinfo JWT, an empty body): no claims from here, as without DPoP; the caller goes
                // on with the ID token's. Thrown, it failed the login with 500 after the provider had issued the tokens.
                return null;
            }
        }

        return null;
    }

    public HttpClient Http() => httpClientFactory.CreateClient(ProviderRegistry.HttpClientName);

    /// <summary>
    /// Puts the client's credentials on <paramref name="request"/>: the secret (header or body), or for
    /// <c>private_key_jwt</c> a freshly signed assertion in the body and no secret at all.
    /// </summary>
    public static void Authenticate(ProtocolRequest request, ProviderRuntime provider)
    {
        var options = provider.Options;
        request.ClientId = options.ClientId!;
        if (provider.ClientAssertions is { } assertions)
        {
            request.ClientAssertion = assertions.Create();
            request.ClientCredentialStyle = ClientCredentialStyle.PostBody;
            return;
        }

        request.ClientSecret = options.ClientSecret;
        request.ClientCredentialStyle = options.ClientAuthentication == ClientAuthenticationMethods.ClientSecretPost
            ? ClientCredentialStyle.PostBody
            : ClientCredentialStyle.AuthorizationHeader;
    }
}
