using Microsoft.Extensions.DependencyInjection;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Portcullis.Demo.Provider;

// What the provider supports and how it issues tokens.
internal static class ProviderServer
{
    public static void ConfigureDemoServer(this OpenIddictServerBuilder options, ProviderSettings settings)
    {
        options.SetIssuer(settings.Issuer);
        options
            .SetAuthorizationEndpointUris(ProviderPaths.Authorization)
            .SetTokenEndpointUris(ProviderPaths.Token)
            .SetUserInfoEndpointUris(ProviderPaths.UserInfo)
            .SetRevocationEndpointUris(ProviderPaths.Revocation)
            .SetEndSessionEndpointUris(ProviderPaths.EndSession)
            .SetIntrospectionEndpointUris(ProviderPaths.Introspection);

        options
            .AllowAuthorizationCodeFlow()
            .AllowRefreshTokenFlow()
            .AllowClientCredentialsFlow()
            .RequireProofKeyForCodeExchange();

        // Only S256 (RFC 7636, section 4.2): a client that falls back to "plain" should fail here.
        options.Configure(server => server.CodeChallengeMethods.Remove(CodeChallengeMethods.Plain));

        options.RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.OfflineAccess, DemoDefaults.ApiScope);
        options.RegisterClaims(
            Claims.Name, Claims.GivenName, Claims.FamilyName, Claims.PreferredUsername,
            Claims.Email, Claims.EmailVerified, Claims.AuthenticationTime);

        // Short access tokens make the gateway's refresh path run within a two-minute demo.
        options.SetAccessTokenLifetime(TimeSpan.FromMinutes(2));

        // Rolling refresh tokens are OpenIddict's default. Its 30-second reuse leeway is switched off so
        // that presenting an already redeemed refresh token is always refused (and revokes the chain),
        // as OAuth 2.0 Security BCP (RFC 9700, section 4.14.2) expects of rotation.
        options.SetRefreshTokenReuseLeeway(null);

        options.AddEphemeralEncryptionKey().AddEphemeralSigningKey();

        // Plain JWT access tokens, so the sample API validates them with the stock JwtBearer handler.
        options.DisableAccessTokenEncryption();

        options.UseAspNetCore()
            .EnableAuthorizationEndpointPassthrough()
            .EnableTokenEndpointPassthrough()
            .EnableUserInfoEndpointPassthrough()
            .EnableEndSessionEndpointPassthrough()
            // Plain HTTP is fine only because every host of the demo listens on loopback.
            .DisableTransportSecurityRequirement();
    }
}
