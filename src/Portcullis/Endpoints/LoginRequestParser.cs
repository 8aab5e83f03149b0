using System.Globalization;
using Microsoft.AspNetCore.Http;
using Portcullis.Agent;
using Portcullis.Primitives;
using Portcullis.Sessions;

namespace Portcullis.Endpoints;

/// <summary>
/// The optional parts of <c>GET /bff/login</c>: step-up (<c>maxAge</c>, <c>acr</c>) and <c>link=true</c>.
/// <para>
/// Linking adds the identity the login proves to the user already signed in. It is safe against login CSRF because
/// (1) it needs the session cookie, which is <c>SameSite=Strict</c> and so absent from any navigation another site
/// starts, and a request that says it is cross-site is refused outright; (2) the user to link to is fixed in the
/// login transaction when the login starts, never read at the callback, whose request arrives cross-site; (3) that
/// transaction is single-use and bound to this browser's binding cookie, so a callback URL carrying an attacker's
/// code and state fails in the victim's browser; (4) the session that asked must still be alive at the callback.
/// Nothing links by e-mail: identities are (provider, subject) only.
/// </para>
/// </summary>
internal static class LoginRequestParser
{
    /// <summary>Longest <c>max_age</c> accepted, a year: more is no step-up at all.</summary>
    public const int MaxMaxAge = 365 * 24 * 3600;

    public static async Task<Outcome<LoginRequestExtras>> ParseAsync(HttpContext context, ProviderRuntime provider, SessionService sessions)
    {
        var query = context.Request.Query;
        int? maxAge = null;
        if (query.ContainsKey("maxAge"))
        {
            if (query["maxAge"].Count != 1 || !int.TryParse(query["maxAge"], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > MaxMaxAge)
            {
                return PortcullisError.InvalidRequest("maxAge must be a number of seconds.");
            }

            maxAge = seconds;
        }

        string? acr = null;
        if (query.ContainsKey("acr"))
        {
            acr = query["acr"].Count == 1 ? query["acr"].ToString() : null;
            if (acr is null || acr.Length is 0 or > 512 || !acr.All(c => c is >= '!' and <= '~' or ' ') || acr.Contains("  ", StringComparison.Ordinal))
            {
                return PortcullisError.InvalidRequest("acr must be one or more space-separated authentication context class values.");
            }
        }

        if ((maxAge is not null || acr is not null) && !provider.Preset.IsOpenIdConnect)
        {
            return PortcullisError.InvalidRequest("This identity provider cannot confirm a recent or stronger sign-in (maxAge, acr need OpenID Connect).");
        }

        var link = query["link"].ToString();
        if (link.Length == 0 || link == "false")
        {
            return new LoginRequestExtras(maxAge, acr, null, null);
        }

        if (link != "true")
        {
            return PortcullisError.InvalidRequest("link must be true or false.");
        }

        if (context.Request.Headers["Sec-Fetch-Site"] == "cross-site")
        {
            return PortcullisError.CsrfCheckFailed;
        }

        var session = await sessions.ResolveAsync(context);
        if (session is null)
        {
            return new PortcullisError(401, "unauthenticated", "Linking another account needs a signed-in session. Sign in first, then link.");
        }

        return new LoginRequestExtras(maxAge, acr, session.Record.UserId, session.Record.Key);
    }
}
