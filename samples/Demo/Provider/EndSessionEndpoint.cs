using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OpenIddict.Server.AspNetCore;

namespace Portcullis.Demo.Provider;

// RP-Initiated Logout 1.0: OpenIddict has checked post_logout_redirect_uri against the client's
// registration. No confirmation page: the demo signs out at once, with or without id_token_hint.
internal static class EndSessionEndpoint
{
    public static void MapEndSessionEndpoint(this IEndpointRouteBuilder app) =>
        app.MapMethods(ProviderPaths.EndSession, [HttpMethods.Get, HttpMethods.Post], (Func<HttpContext, Task<IResult>>)HandleAsync);

    private static async Task<IResult> HandleAsync(HttpContext context)
    {
        await context.SignOutAsync(LoginCookie.Scheme);

        // OpenIddict redirects to the validated post_logout_redirect_uri; without one, to the provider's home page.
        return Results.SignOut(
            new AuthenticationProperties { RedirectUri = "/" },
            [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
    }
}
