using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Portcullis.Demo.Provider;

// Registers the gateway as a client and the "api" scope with the sample API as its resource.
internal sealed class ProviderSeeder(
    IOpenIddictApplicationManager applications,
    IOpenIddictScopeManager scopes,
    ProviderSettings settings)
{
    public async Task SeedAsync(CancellationToken ct)
    {
        await applications.CreateAsync(CreateGatewayClient(), ct);
        await scopes.CreateAsync(new OpenIddictScopeDescriptor
        {
            Name = DemoDefaults.ApiScope,
            DisplayName = "Sample API",
            Resources = { DemoDefaults.ApiAudience },
        }, ct);
    }

    private OpenIddictApplicationDescriptor CreateGatewayClient() => new()
    {
        ClientId = DemoDefaults.ClientId,
        ClientSecret = DemoDefaults.ClientSecret,
        ClientType = ClientTypes.Confidential,
        ApplicationType = ApplicationTypes.Web,
        // First-party demo: the user is never asked to consent.
        ConsentType = ConsentTypes.Implicit,
        DisplayName = "Portcullis demo gateway",
        RedirectUris = { settings.RedirectUri },
        PostLogoutRedirectUris = { settings.PostLogoutRedirectUri },
        Permissions =
        {
            Permissions.Endpoints.Authorization,
            Permissions.Endpoints.Token,
            Permissions.Endpoints.Revocation,
            Permissions.Endpoints.EndSession,
            Permissions.Endpoints.Introspection,
            Permissions.GrantTypes.AuthorizationCode,
            Permissions.GrantTypes.RefreshToken,
            // For API routes with Token = "client": the gateway's own client-credentials token.
            Permissions.GrantTypes.ClientCredentials,
            Permissions.ResponseTypes.Code,
            Permissions.Scopes.Profile,
            Permissions.Scopes.Email,
            Permissions.Prefixes.Scope + DemoDefaults.ApiScope,
        },
        Requirements =
        {
            Requirements.Features.ProofKeyForCodeExchange,
        },
    };
}
