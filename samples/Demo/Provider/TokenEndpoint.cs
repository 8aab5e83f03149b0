using System.Security.Claims;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Portcullis.Demo.Provider;

// OpenIddict has authenticated the client and validated the code, code_verifier or refresh token
// (including reuse of a redeemed refresh token) before this runs.
internal static class TokenEndpoint
{
    public static void MapTokenEndpoint(this IEndpointRouteBuilder app) =>
        app.MapPost(ProviderPaths.Token, HandleAsync);

    private static async Task<IResult> HandleAsync(HttpContext context, IOpenIddictScopeManager scopes)
    {
        var request = context.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");

        if (request.IsAuthorizationCodeGrantType() || request.IsRefreshTokenGrantType())
        {
            var result = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
            var user = DemoUsers.FindBySubject(result.Principal?.GetClaim(Claims.Subject));
            if (result.Principal is null || user is null)
            {
                return ServerResults.Reject(Errors.InvalidGrant, "The user no longer exists.");
            }

            // Keep OpenIddict's private claims (authorization id, scopes, resources) so the new tokens
            // stay in the same chain, and refresh the profile claims from the user store.
            var identity = new ClaimsIdentity(result.Principal.Claims, TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
            identity.WithProfile(user);
            return Results.SignIn(new ClaimsPrincipal(identity), properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        if (request.IsClientCredentialsGrantType())
        {
            // The client acts for itself: its client_id is the subject.
            var identity = UserIdentity.CreateEmpty();
            identity.SetClaim(Claims.Subject, request.ClientId);
            identity.SetClaim(Claims.Name, request.ClientId);
            identity.SetScopes(request.GetScopes());
            identity.SetResources(await scopes.ResourcesForAsync(request.GetScopes(), context.RequestAborted));
            identity.SetDestinations(ClaimDestinations.For);
            return Results.SignIn(new ClaimsPrincipal(identity), properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        // OpenIddict refuses grant types that were not enabled before the request gets here.
        throw new InvalidOperationException($"The grant type '{request.GrantType}' is not handled.");
    }
}
