using System.Collections.Frozen;
using Portcullis.Configuration;
using Portcullis.Primitives;

namespace Portcullis.Agent.Presets;

/// <summary>
/// Discord, plain OAuth 2.0 as documented at discord.com/developers/docs ("OAuth2", "Users", "Rate Limits"): code flow
/// with PKCE, refresh tokens that rotate, RFC 7009 revocation at <c>/oauth2/token/revoke</c>, the user from
/// <c>GET /users/@me</c> (snowflake <c>id</c>). A 429 carries <c>retry_after</c>; it is a transient failure that
/// never ends a session.
/// </summary>
internal sealed class DiscordPreset : ProviderPreset
{
    public override string Kind => ProviderKinds.Discord;

    public override string DefaultDisplayName => "Discord";

    public override IReadOnlyList<string> DefaultScopes { get; } = ["identify", "email"];

    // Discord's only prompt value besides none: the consent screen is shown again instead of being skipped.
    public override IReadOnlyDictionary<string, string> ReauthenticationParameters { get; } =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["prompt"] = "consent" }.ToFrozenDictionary();

    public override OAuthEndpoints ResolveEndpoints(ProviderEndpointOptions configured)
    {
        var api = (configured.Api ?? "https://discord.com/api/v10").TrimEnd('/');
        return new OAuthEndpoints(
            configured.Authorization ?? "https://discord.com/oauth2/authorize",
            configured.Token ?? $"{api}/oauth2/token",
            configured.Revocation ?? $"{api}/oauth2/token/revoke",
            api);
    }

    public override async Task<Outcome<ProviderUser>> LoadUserAsync(HttpClient http, ProviderRuntime provider, string accessToken, CancellationToken cancellationToken)
    {
        var answer = await ProviderApi.SendAsync(http, ProviderApi.Request(HttpMethod.Get, $"{provider.Endpoints!.Api}/users/@me", accessToken), cancellationToken);
        if (!answer.IsSuccess || answer.Json is not { } user || user.Identifier("id") is not { } id)
        {
            return ProviderApi.UserEndpointFailure(answer);
        }

        var username = user.String("username");
        var avatar = user.String("avatar");
        var email = user.String("email");
        var claims = new ClaimsBuilder()
            .Add("sub", id)
            .Add("login", username)
            .Add("preferred_username", username)
            .Add("name", user.String("global_name") ?? username)
            .Add("picture", avatar is null ? null : $"https://cdn.discordapp.com/avatars/{id}/{avatar}.png")
            .Add("email", email)
            // Discord's "verified" says whether the e-mail on the account is verified.
            .Add("email_verified", email is null ? null : user.Bool("verified") ?? false)
            .Build();
        return new ProviderUser(id, claims);
    }
}
