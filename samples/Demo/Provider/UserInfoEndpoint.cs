using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Portcullis.Demo.Provider;

// OpenID Connect Core 1.0, section 5.3: the claims the granted scopes allow, read from the user store.
internal static class UserInfoEndpoint
{
    public static void MapUserInfoEndpoint(this IEndpointRouteBuilder app) =>
        app.MapMethods(ProviderPaths.UserInfo, [HttpMethods.Get, HttpMethods.Post], (Func<HttpContext, Task<IResult>>)HandleAsync);

    private static async Task<IResult> HandleAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        var user = DemoUsers.FindBySubject(result.Principal?.GetClaim(Claims.Subject));
        if (result.Principal is null || user is null)
        {
            return Results.Challenge(
                new AuthenticationProperties(new Dictionary<string, string?>
                {
                    [OpenIddictServerAspNetCoreConstants.Properties.Error] = Errors.InvalidToken,
                    [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = "The access token does not belong to a known user.",
                }),
                [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }

        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [Claims.Subject] = user.Subject,
        };

        if (result.Principal.HasScope(Scopes.Profile))
        {
            claims[Claims.Name] = user.Name;
            claims[Claims.GivenName] = user.GivenName;
            claims[Claims.FamilyName] = user.FamilyName;
            claims[Claims.PreferredUsername] = user.UserName;
        }

        if (result.Principal.HasScope(Scopes.Email))
        {
            claims[Claims.Email] = user.Email;
            claims[Claims.EmailVerified] = true;
        }

        return Results.Ok(claims);
    }
}
