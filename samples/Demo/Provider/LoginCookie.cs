using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.Cookies;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Portcullis.Demo.Provider;

// The provider's own sign-in cookie carries only the subject; the profile is read from DemoUsers.
internal static class LoginCookie
{
    public const string Scheme = CookieAuthenticationDefaults.AuthenticationScheme;

    public static ClaimsPrincipal CreatePrincipal(DemoUser user) =>
        new(new ClaimsIdentity([new Claim(Claims.Subject, user.Subject), new Claim(Claims.Name, user.Name)], Scheme, Claims.Name, Claims.Role));

    public static DemoUser? FindUser(ClaimsPrincipal? principal) =>
        DemoUsers.FindBySubject(principal?.FindFirst(Claims.Subject)?.Value);
}
