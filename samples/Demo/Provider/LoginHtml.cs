using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;

namespace Portcullis.Demo.Provider;

// Markup of the provider's pages. Every value is HTML-encoded; there is no script and no style.
internal static class LoginHtml
{
    public static string Form(AntiforgeryTokenSet tokens, string returnUrl, string? error)
    {
        var encode = HtmlEncoder.Default;
        var message = error is null ? "" : $"""<p id="error" role="alert">{encode.Encode(error)}</p>""";
        return $"""
            <h1>Sign in to the demo provider</h1>
            {message}
            <form method="post" action="{ProviderPaths.Login}">
              <input type="hidden" name="{encode.Encode(tokens.FormFieldName)}" value="{encode.Encode(tokens.RequestToken ?? "")}">
              <input type="hidden" name="returnUrl" value="{encode.Encode(returnUrl)}">
              <p><label for="username">User name</label><br><input id="username" name="username" autocomplete="username" required autofocus></p>
              <p><label for="password">Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" required></p>
              <p><button id="login" type="submit">Sign in</button></p>
            </form>
            <p>Demo users: {string.Join(", ", DemoUsers.All.Select(u => $"<code>{encode.Encode(u.UserName)}</code> / <code>{encode.Encode(u.Password)}</code>"))}</p>
            """;
    }

    public static string Home(DemoUser? user) => user is null
        ? "<h1>Development OpenID provider</h1><p id=\"status\">You are signed out of the provider.</p>"
        : $"<h1>Development OpenID provider</h1><p id=\"status\">Signed in as {HtmlEncoder.Default.Encode(user.Name)}.</p>";
}
