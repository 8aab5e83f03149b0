using System.Collections.Frozen;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Duende.IdentityModel.Client;
using Portcullis.Configuration;
using Portcullis.Primitives;

namespace Portcullis.Agent.Presets;

/// <summary>
/// GitHub (OAuth apps and GitHub Apps), plain OAuth 2.0 as documented at docs.github.com ("Authorizing OAuth apps",
/// "Refreshing user access tokens", REST "Users", "Emails", "OAuth authorizations"):
/// <list type="bullet">
/// <item>the token endpoint answers JSON only when asked (<c>Accept: application/json</c>, which the client always
/// sends) and reports errors with HTTP 200 and an <c>error</c> member; an expired or used refresh token is
/// <c>bad_refresh_token</c>;</item>
/// <item>tokens expire (8 h, with a rotating refresh token) only when the app opted in; otherwise they never expire;</item>
/// <item>the user is <c>GET /user</c> (stable numeric <c>id</c>), the e-mail the primary verified one of
/// <c>GET /user/emails</c>; the API refuses requests without <c>User-Agent</c>;</item>
/// <item>there is no RFC 7009 endpoint: the app's grant is deleted with <c>DELETE /applications/{client_id}/grant</c>,
/// authenticated with the client's credentials.</item>
/// </list>
/// </summary>
internal sealed class GitHubPreset : ProviderPreset
{
    private const string ApiVersion = "2022-11-28";

    public override string Kind => ProviderKinds.GitHub;

    public override string DefaultDisplayName => "GitHub";

    public override IReadOnlyList<string> DefaultScopes { get; } = ["read:user", "user:email"];

    // GitHub has no re-authentication request; its account picker is the most it offers (prompt=select_account).
    public override IReadOnlyDictionary<string, string> ReauthenticationParameters { get; } =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["prompt"] = "select_account" }.ToFrozenDictionary();

    // GitHub documents the credentials as body parameters of the token request.
    public override string DefaultClientAuthentication => ClientAuthenticationMethods.ClientSecretPost;

    public override OAuthEndpoints ResolveEndpoints(ProviderEndpointOptions configured) => new(
        configured.Authorization ?? "https://github.com/login/oauth/authorize",
        configured.Token ?? "https://github.com/login/oauth/access_token",
        null,
        (configured.Api ?? "https://api.github.com").TrimEnd('/'));

    public override bool IsInvalidGrant(TokenResponse response) =>
        base.IsInvalidGrant(response) || (response.ErrorType == ResponseErrorType.None && response.Error == "bad_refresh_token");

    public override async Task<Outcome<ProviderUser>> LoadUserAsync(HttpClient http, ProviderRuntime provider, string accessToken, CancellationToken cancellationToken)
    {
        var api = provider.Endpoints!.Api;
        var user = await ProviderApi.SendAsync(http, Request(HttpMethod.Get, $"{api}/user", accessToken), cancellationToken);
        if (!user.IsSuccess || user.Json is not { } json || json.Identifier("id") is not { } id)
        {
            return ProviderApi.UserEndpointFailure(user);
        }

        // Only the primary address, and only when GitHub verified it; without the user:email scope there is none.
        var emails = await ProviderApi.SendAsync(http, Request(HttpMethod.Get, $"{api}/user/emails", accessToken), cancellationToken);
        var primary = emails is { IsSuccess: true, Json: { ValueKind: JsonValueKind.Array } list }
            ? list.EnumerateArray().FirstOrDefault(e => e.Bool("primary") == true && e.Bool("verified") == true)
            : default;
        var email = primary.String("email");

        var login = json.String("login");
        var claims = new ClaimsBuilder()
            .Add("sub", id)
            .Add("login", login)
            .Add("preferred_username", login)
            .Add("name", json.String("name") ?? login)
            .Add("picture", json.String("avatar_url"))
            .Add("profile", json.String("html_url"))
            .Add("email", email)
            .Add("email_verified", email is null ? null : true)
            .Build();
        return new ProviderUser(id, claims);
    }

    public override bool UsesTokenRevocation => false;

    public override async Task<AuthorizationRevocation> RevokeAuthorizationAsync(HttpClient http, ProviderRuntime provider, string accessToken, CancellationToken cancellationToken)
    {
        var options = provider.Options;
        var request = Request(HttpMethod.Delete, $"{provider.Endpoints!.Api}/applications/{Uri.EscapeDataString(options.ClientId!)}/grant", accessToken: null);
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.ClientId}:{options.ClientSecret}")));
        request.Content = JsonContent.Create(new GitHubTokenBody(accessToken), GitHubJsonContext.Default.GitHubTokenBody);
        var answer = await ProviderApi.SendAsync(http, request, cancellationToken);
        return answer.IsSuccess ? new AuthorizationRevocation(true) : new AuthorizationRevocation(false, $"HTTP {(int)answer.Status}");
    }

    private static HttpRequestMessage Request(HttpMethod method, string url, string? accessToken)
    {
        var request = new HttpRequestMessage(method, url);
        if (accessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }

        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.github+json"));
        request.Headers.Add("X-GitHub-Api-Version", ApiVersion);
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Portcullis", "1.0"));
        return request;
    }
}

internal sealed record GitHubTokenBody([property: System.Text.Json.Serialization.JsonPropertyName("access_token")] string AccessToken);

[System.Text.Json.Serialization.JsonSerializable(typeof(GitHubTokenBody))]
internal sealed partial class GitHubJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
