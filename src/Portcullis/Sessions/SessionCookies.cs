using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Primitives;

namespace Portcullis.Sessions;

/// <summary>
/// The two cookies the gateway sets. Both hold only random values (SECURITY.md items 1–2). The session cookie is
/// <c>SameSite=Strict</c>; the login-binding cookie must be <c>Lax</c> because it has to come back on the
/// provider's cross-site redirect to the callback.
/// </summary>
internal sealed class SessionCookies(IOptions<PortcullisOptions> options)
{
    public const string LoginBindingCookieName = "__Host-portcullis-login";

    /// <summary>Most login-binding cookies read from one request (see <see cref="ReadLoginBindings"/>).</summary>
    public const int MaxLoginBindings = 8;

    private readonly string _sessionCookieName = options.Value.Session.CookieName;

    private readonly SingleCookie _sessionCookie = new(options.Value.Session.CookieName);

    /// <summary><c>Session:CookieDomain</c>: the session cookie is shared with that domain's hosts (a <c>__Secure-</c> name then).</summary>
    private readonly string? _sessionCookieDomain = string.IsNullOrEmpty(options.Value.Session.CookieDomain) ? null : options.Value.Session.CookieDomain;

    /// <summary>The session cookie's value; read from the raw header when that is unambiguous (<see cref="SingleCookie"/>).</summary>
    public string? ReadSession(HttpRequest request) =>
        _sessionCookie.TryRead(request.Headers.Cookie, out var value) ? value : request.Cookies[_sessionCookieName];

    /// <summary>
    /// The browser's login-binding cookies, by name. A browser normally has one, shared by all its tabs. Tabs that start
    /// logins at the same moment in a browser that has none yet cannot share one (each response would overwrite the
    /// others'), so each gets a cookie of its own name (<see cref="NewLoginBindingCookieName"/>); SECURITY.md item 19.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> ReadLoginBindings(HttpRequest request) =>
        request.Cookies
            .Where(c => c.Key == LoginBindingCookieName || c.Key.StartsWith(LoginBindingCookieName + "-", StringComparison.Ordinal))
            .Take(MaxLoginBindings)
            .ToList();

    /// <summary>A binding cookie name for a browser that has none: unique, so parallel first logins do not collide.</summary>
    public static string NewLoginBindingCookieName() => LoginBindingCookieName + "-" + Storage.Identifiers.NewSecret()[..8];

    public void WriteSession(HttpResponse response, string value) =>
        response.Cookies.Append(_sessionCookieName, value, Options(SameSiteMode.Strict, maxAge: null, _sessionCookieDomain));

    /// <summary>Expires the session cookie with the same attributes it was set with (SECURITY.md item 5).</summary>
    public void ExpireSession(HttpResponse response) =>
        response.Cookies.Delete(_sessionCookieName, Options(SameSiteMode.Strict, maxAge: null, _sessionCookieDomain));

    public void WriteLoginBinding(HttpResponse response, string name, string value, TimeSpan lifetime) =>
        response.Cookies.Append(name, value, Options(SameSiteMode.Lax, lifetime));

    /// <remarks>
    /// The login-binding cookie never takes a Domain: the provider sends the browser back to this origin's callback, so it
    /// is never needed elsewhere and keeps its <c>__Host-</c> prefix in every deployment (ADR 0042).
    /// </remarks>
    private static CookieOptions Options(SameSiteMode sameSite, TimeSpan? maxAge, string? domain = null) => new()
    {
        HttpOnly = true,
        Secure = true,
        SameSite = sameSite,
        Path = "/",
        // No Domain unless Session:CookieDomain shares the session cookie: with the __Host- prefix the cookie then belongs
        // to this exact origin.
        Domain = domain,
        MaxAge = maxAge,
        IsEssential = true,
    };
}
