using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Portcullis.Demo.Provider;

// The provider's sign-in form. Binding the POST with [FromForm] makes ASP.NET Core check the
// antiforgery token, so another site cannot log the browser in as a demo user.
internal static class LoginPage
{
    internal sealed record LoginForm(string? Username, string? Password, string? ReturnUrl);

    public static void MapLoginPage(this IEndpointRouteBuilder app)
    {
        app.MapGet(ProviderPaths.Login, (HttpContext context, IAntiforgery antiforgery, string? returnUrl) =>
            Html.Page(context, "Sign in", LoginHtml.Form(antiforgery.GetAndStoreTokens(context), LocalOrRoot(returnUrl), error: null)));

        app.MapPost(ProviderPaths.Login, async (HttpContext context, IAntiforgery antiforgery, [FromForm] LoginForm form) =>
        {
            var returnUrl = LocalOrRoot(form.ReturnUrl);
            var user = DemoUsers.FindByCredentials(form.Username, form.Password);
            if (user is null)
            {
                var tokens = antiforgery.GetAndStoreTokens(context);
                return Html.Page(context, "Sign in", LoginHtml.Form(tokens, returnUrl, "Unknown user name or wrong password."));
            }

            await context.SignInAsync(LoginCookie.Scheme, LoginCookie.CreatePrincipal(user));
            return Results.LocalRedirect(returnUrl);
        });

        app.MapGet("/", (HttpContext context) => Html.Page(context, "Development OpenID provider", LoginHtml.Home(LoginCookie.FindUser(context.User))));
    }

    // Only paths on this provider: an absolute or protocol-relative URL here would be an open redirect.
    private static string LocalOrRoot(string? returnUrl) =>
        returnUrl is { Length: > 0 } && returnUrl[0] == '/' && !returnUrl.StartsWith("//", StringComparison.Ordinal) && !returnUrl.StartsWith("/\\", StringComparison.Ordinal)
            ? returnUrl
            : "/";
}
