using System.Text.Json;
using Duende.IdentityModel.Client;
using Portcullis.Configuration;

namespace Portcullis.Agent;

/// <summary>Back-channel calls to a provider's endpoints, authenticated as the confidential client (SECURITY.md item 10).</summary>
internal sealed class ProviderClient(IHttpClientFactory httpClientFactory)
{
    public async Task<TokenResponse> RedeemCodeAsync(ProviderRuntime provider, string tokenEndpoint, string code, string codeVerifier, CancellationToken cancellationToken)
    {
        var request = new AuthorizationCodeTokenRequest
        {
            Address = tokenEndpoint,
            Code = code,
            CodeVerifier = codeVerifier,
            // Identical to the one in the authorization request (RFC 6749 §4.1.3).
            RedirectUri = provider.RedirectUri,
        };
        Authenticate(request, provider);
        return await Http().RequestAuthorizationCodeTokenAsync(request, cancellationToken);
    }

    /// <summary>
    /// Pushes the authorization request (RFC 9126) authenticated as the client; the browser then carries only the
    /// returned <c>request_uri</c>. <paramref name="parameters"/> are the authorization request's, without
    /// <c>client_id</c> and <c>response_type</c> (the library adds both).
    /// </summary>
    public async Task<PushedAuthorizationResponse> PushAuthorizationAsync(ProviderRuntime provider, string endpoint, IReadOnlyDictionary<string, string?> parameters, CancellationToken cancellationToken)
    {
        var request = new PushedAuthorizationRequest { Address = endpoint, ResponseType = "code" };
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
