using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Sessions;

/// <summary>
/// The two cookies the gateway sets. Both hold only random values (SECURITY.md items 1–2). The session cookie is
/// <c>SameSite=Strict</c>; the login-binding cookie must be <c>Lax</c> because it has to come back on the
/// provider's cross-site redirect to the callback.
/// </summary>
internal sealed class SessionCookies(IOptions<PortcullisOptions> options)
{
    public const string LoginBindingCookieName = "__Host-portcullis-login";

    private readonly string _sessionCookieName = options.Value.Session.CookieName;

    public string? ReadSession(HttpRequest request) => request.Cookies[_sessionCookieName];

    public string? ReadLoginBinding(HttpRequest request) => request.Cookies[LoginBindingCookieName];

    public void WriteSession(HttpResponse response, string value) =>
        response.Cookies.Append(_sessionCookieName, value, Options(SameSiteMode.Strict, maxAge: null));

    /// <summary>Expires the session cookie with the same attributes it was set with (SECURITY.md item 5).</summary>
    public void ExpireSession(HttpResponse response) =>
        response.Cookies.Delete(_sessionCookieName, Options(SameSiteMode.Strict, maxAge: null));

    public void WriteLoginBinding(HttpResponse response, string value, TimeSpan lifetime) =>
        response.Cookies.Append(LoginBindingCookieName, value, Options(SameSiteMode.Lax, lifetime));

    private static CookieOptions Options(SameSiteMode sameSite, TimeSpan? maxAge) => new()
    {
        HttpOnly = true,
        Secure = true,
        SameSite = sameSite,
        Path = "/",
        // No Domain: together with the __Host- prefix the cookie belongs to this exact origin.
        Domain = null,
        MaxAge = maxAge,
        IsEssential = true,
    };
}
