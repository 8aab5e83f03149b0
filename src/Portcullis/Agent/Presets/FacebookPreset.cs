using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using Duende.IdentityModel.Client;
using Portcullis.Configuration;
using Portcullis.Primitives;

namespace Portcullis.Agent.Presets;

/// <summary>
/// Facebook Login, plain OAuth 2.0 as documented at developers.facebook.com ("Manually Build a Login Flow",
/// "Long-Lived Access Tokens", Graph API "User", "User Permissions"): no refresh tokens (a short-lived token can be
/// exchanged for a long-lived one with <c>grant_type=fb_exchange_token</c>), the user from
/// <c>GET /me?fields=id,name,email,picture</c>, revocation by <c>DELETE /me/permissions</c>. Server calls carry
/// <c>appsecret_proof</c>, as Facebook recommends. Facebook does not say whether the e-mail is verified, so no
/// <c>email_verified</c> claim is made up.
/// </summary>
internal sealed class FacebookPreset : ProviderPreset
{
    public const string GraphVersion = "v21.0";

    public override string Kind => ProviderKinds.Facebook;

    public override string DefaultDisplayName => "Facebook";

    public override IReadOnlyList<string> DefaultScopes { get; } = ["public_profile", "email"];

    // Facebook Login: auth_type=reauthenticate asks for the password again even with a live Facebook session.
    public override IReadOnlyDictionary<string, string> ReauthenticationParameters { get; } =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["auth_type"] = "reauthenticate" }.ToFrozenDictionary();

    // Sent in the body of a POST so the secret never sits in a URL.
    public override string DefaultClientAuthentication => ClientAuthenticationMethods.ClientSecretPost;

    public override OAuthEndpoints ResolveEndpoints(ProviderEndpointOptions configured)
    {
        var api = (configured.Api ?? $"https://graph.facebook.com/{GraphVersion}").TrimEnd('/');
        return new OAuthEndpoints(
            configured.Authorization ?? $"https://www.facebook.com/{GraphVersion}/dialog/oauth",
            configured.Token ?? $"{api}/oauth/access_token",
            null,
            api);
    }

    public override async Task<TokenResponse> AfterCodeRedemptionAsync(HttpClient http, ProviderRuntime provider, TokenResponse response, CancellationToken cancellationToken)
    {
        if (!provider.Options.ExchangeForLongLivedToken || response.IsError || response.AccessToken is not { } shortLived)
        {
            return response;
        }

        var request = new TokenRequest
        {
            Address = provider.Endpoints!.Token,
            GrantType = "fb_exchange_token",
            Parameters = { { "fb_exchange_token", shortLived } },
        };
        ProviderClient.Authenticate(request, provider);
        return await http.RequestTokenAsync(request, cancellationToken);
    }

    public override async Task<Outcome<ProviderUser>> LoadUserAsync(HttpClient http, ProviderRuntime provider, string accessToken, CancellationToken cancellationToken)
    {
        var url = $"{provider.Endpoints!.Api}/me?fields=id,name,email,picture&appsecret_proof={AppSecretProof(provider, accessToken)}";
        var answer = await ProviderApi.SendAsync(http, ProviderApi.Request(HttpMethod.Get, url, accessToken), cancellationToken);
        if (!answer.IsSuccess || answer.Json is not { } user || user.Identifier("id") is not { } id)
        {
            return ProviderApi.UserEndpointFailure(answer);
        }

        var picture = user.TryGetProperty("picture", out var p) && p.TryGetProperty("data", out var data) ? data.String("url") : null;
        var claims = new ClaimsBuilder()
            .Add("sub", id)
            .Add("name", user.String("name"))
            .Add("email", user.String("email"))
            .Add("picture", picture)
            .Build();
        return new ProviderUser(id, claims);
    }

    public override bool UsesTokenRevocation => false;

    public override async Task<AuthorizationRevocation> RevokeAuthorizationAsync(HttpClient http, ProviderRuntime provider, string accessToken, CancellationToken cancellationToken)
    {
        var url = $"{provider.Endpoints!.Api}/me/permissions?appsecret_proof={AppSecretProof(provider, accessToken)}";
        var answer = await ProviderApi.SendAsync(http, ProviderApi.Request(HttpMethod.Delete, url, accessToken), cancellationToken);
        return answer.IsSuccess && answer.Json?.Bool("success") == true
            ? new AuthorizationRevocation(true)
            : new AuthorizationRevocation(false, $"HTTP {(int)answer.Status}");
    }

    /// <summary>HMAC-SHA256 of the access token keyed with the app secret, hex: proves the call comes from the app's server.</summary>
    public static string AppSecretProof(ProviderRuntime provider, string accessToken) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(provider.Options.ClientSecret!), Encoding.UTF8.GetBytes(accessToken)));
}
