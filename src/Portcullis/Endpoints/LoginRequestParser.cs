using System.Globalization;
using Microsoft.AspNetCore.Http;
using Portcullis.Agent;
using Portcullis.Primitives;
using Portcullis.Sessions;

namespace Portcullis.Endpoints;

/// <summary>
/// The optional parts of <c>GET /bff/login</c> (step-up: <c>maxAge</c>, <c>acr</c>) and the checks of <c>POST /bff/link</c>.
/// <para>
/// Linking adds the identity the login proves to the user already signed in. It is safe against login CSRF because
/// (1) it is a <c>POST</c> with the anti-forgery header from the gateway's own origin, with the session cookie, which
/// is <c>SameSite=Strict</c>; the provider is asked to re-authenticate the user (the preset's strongest option); (2) the user to link to is fixed in the
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

        // Linking moved to POST /bff/link (issue 17 item 3): a GET can be started by any page on the same site.
        if (query.ContainsKey("link"))
        {
            return PortcullisError.InvalidRequest("Linking another account is a POST to /bff/link from the app, with the X-CSRF: 1 header.");
        }

        return new LoginRequestExtras(maxAge, acr, null, null);
    }

    /// <summary>
    /// <c>POST /bff/link</c> after the JSON endpoints' anti-forgery check: only the gateway's own origin may ask (not an
    /// allowed CORS origin, not a sibling subdomain), and only for the user signed in here.
    /// </summary>
    public static async Task<Outcome<LoginRequestExtras>> ParseLinkAsync(HttpContext context, string publicOrigin, SessionService sessions)
    {
        var headers = context.Request.Headers;
        if ((headers.Origin.Count > 0 && (headers.Origin.Count != 1 || !string.Equals(headers.Origin[0], publicOrigin, StringComparison.OrdinalIgnoreCase)))
            || (headers.TryGetValue("Sec-Fetch-Site", out var site) && site != "same-origin"))
        {
            return PortcullisError.CsrfCheckFailed;
        }

        var session = await sessions.ResolveAsync(context);
        if (session is null)
        {
            return new PortcullisError(401, "unauthenticated", "Linking another account needs a signed-in session. Sign in first, then link.");
        }

        return new LoginRequestExtras(null, null, session.Record.UserId, session.Record.Key);
    }
}
