using System.Security.Claims;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Portcullis.Demo.Provider;

// OpenIddict has already validated the request (client, redirect_uri, PKCE, scopes) when this runs;
// what is left is "who is the user?". Consent is implicit: the gateway is a first-party client.
internal static class AuthorizationEndpoint
{
    public static void MapAuthorizationEndpoint(this IEndpointRouteBuilder app) =>
        app.MapMethods(ProviderPaths.Authorization, [HttpMethods.Get, HttpMethods.Post], HandleAsync);

    private static async Task<IResult> HandleAsync(HttpContext context, IOpenIddictScopeManager scopes, TimeProvider time)
    {
        var request = context.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");

        var login = await context.AuthenticateAsync(LoginCookie.Scheme);
        var user = login.Succeeded ? LoginCookie.FindUser(login.Principal) : null;
        var issuedAt = login.Properties?.IssuedUtc;

        if (user is null || issuedAt is null || request.HasPromptValue(PromptValues.Login) || IsTooOld(request, issuedAt.Value, time))
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return ServerResults.Reject(Errors.LoginRequired, "The user is not logged in.");
            }

            return Results.Challenge(
                new AuthenticationProperties { RedirectUri = ReturnUrlWithoutPromptLogin(context.Request, request) },
                [LoginCookie.Scheme]);
        }

        var identity = UserIdentity.CreateEmpty();
        identity.SetScopes(request.GetScopes());
        identity.SetResources(await scopes.ResourcesForAsync(request.GetScopes(), context.RequestAborted));
        identity.SetClaim(Claims.AuthenticationTime, issuedAt.Value.ToUnixTimeSeconds());
        identity.WithProfile(user);

        return Results.SignIn(new ClaimsPrincipal(identity), properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    // OpenID Connect Core 1.0, section 3.1.2.1: max_age asks for a fresh login when the last one is older.
    private static bool IsTooOld(OpenIddictRequest request, DateTimeOffset issuedAt, TimeProvider time) =>
        request.MaxAge is { } maxAge && time.GetUtcNow() - issuedAt > TimeSpan.FromSeconds(maxAge);

    // After the login page the browser comes back here; prompt=login must be gone by then or the user
    // would be sent to the login page forever.
    private static string ReturnUrlWithoutPromptLogin(HttpRequest request, OpenIddictRequest oidcRequest)
    {
        var source = request.HasFormContentType ? request.Form.AsEnumerable() : request.Query.AsEnumerable();
        var parameters = source.Where(p => p.Key != Parameters.Prompt).ToList();
        var prompt = string.Join(' ', oidcRequest.GetPromptValues().Remove(PromptValues.Login));
        if (prompt.Length > 0)
        {
            parameters.Add(KeyValuePair.Create(Parameters.Prompt, new StringValues(prompt)));
        }

        return request.PathBase + request.Path + QueryString.Create(parameters);
    }
}
