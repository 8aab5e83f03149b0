using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Portcullis.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Portcullis.Proxy;

/// <summary>
/// Bearer in, browser credentials out (SECURITY.md items 22, 30): the upstream gets the access token in the
/// <c>Authorization</c> header and never the browser's cookies, CSRF header, own <c>Authorization</c>, or identity
/// and forwarding headers it made up, whatever their spelling. On the way back, nothing of the upstream's answer may
/// change the browser's state on the gateway's origin: no CORS decision, no cookie (unless the route allows ones that
/// cannot be the gateway's), and no active content (<c>nosniff</c> and the route's CSP); issue 17. One instance serves
/// every request; YARP calls it through each request's <see cref="ForwardAttempt"/>, which brings what that attempt sends.
/// </summary>
internal sealed class BearerTransformer(string csrfHeaderName, string sessionCookieName, TimeProvider time)
{
    public async ValueTask TransformRequestAsync(ForwardAttempt attempt, HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await HttpTransformer.Empty.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        var headers = proxyRequest.Headers;
        // The copied headers are read without validation (no value is parsed) through a struct enumerator; the browser's
        // own header dictionary would box one per request (issue 18). A name that is no HTTP token was never copied, so
        // every name seen here is one Remove accepts.
        var assertionHeader = attempt.Route.TokenMode == ApiTokenModes.Assertion ? attempt.Route.AssertionHeader : null;
        List<string>? stripped = null;
        foreach (var header in headers.NonValidated)
        {
            if (IsStripped(header.Key) || (assertionHeader is not null && SameName(header.Key, assertionHeader)))
            {
                (stripped ??= []).Add(header.Key);
            }
        }

        if (stripped is not null)
        {
            foreach (var name in stripped)
            {
                headers.Remove(name);
            }
        }

        // YARP's plain transformer copies the browser's Host header; the upstream must see its own authority, or a browser
        // (Host header, absolute-form target) could pick another virtual host on the same server (SECURITY.md item 32).
        headers.Host = null;
        headers.Remove(csrfHeaderName);
        headers.Remove("Cookie");
        headers.Authorization = null;
        if (assertionHeader is not null)
        {
            // Whatever the browser sent under the assertion's name, in any spelling ('_' for '-'), went above; only the
            // gateway's own assertion is sent.
            headers.Remove(assertionHeader);
            if (attempt.Assertion is { } assertion)
            {
                headers.TryAddWithoutValidation(assertionHeader, assertion);
            }

            return;
        }

        if (attempt.AccessToken is not { } accessToken)
        {
            return;
        }

        if (attempt.DPoPKey is { } dpopKey)
        {
            // A DPoP-bound token is never sent as Bearer (RFC 9449 §7.1): the scheme and a proof bound to this request
            // (method, URL without query, the token's hash) go together.
            using var key = Agent.DPoPKey.Import(dpopKey);
            headers.Authorization = new AuthenticationHeaderValue("DPoP", accessToken);
            // YARP fills in the request URI after the transform; the proof's htu must be that same address.
            var target = proxyRequest.RequestUri ?? RequestUtilities.MakeDestinationAddress(destinationPrefix, httpContext.Request.Path, httpContext.Request.QueryString);
            headers.Add("DPoP", key.CreateProof(proxyRequest.Method.Method, target, time.GetUtcNow(), accessToken, attempt.DPoPNonce));
            return;
        }

        // The value as it goes on the wire, unparsed: an AuthenticationHeaderValue would be built, then formatted again
        // into this same string when the request is written (issue 18).
        headers.TryAddWithoutValidation("Authorization", "Bearer " + accessToken);
    }

    public async ValueTask<bool> TransformResponseAsync(ForwardAttempt attempt, HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        if (attempt is { DPoPKey: not null } && proxyResponse is not null)
        {
            attempt.UpstreamNonce = Agent.DPoPChallenge.NonceOf(proxyResponse);
            if (attempt is { RetryNonceChallenge: true, HoldBackUnauthorized: true, UpstreamNonce: not null } && Agent.DPoPChallenge.AsksForNonce(proxyResponse))
            {
                // Held back like a rejected token: the proxy retries once with the nonce, no refresh needed.
                attempt.NonceChallenged = true;
                return false;
            }
        }

        if (attempt is { HoldBackUnauthorized: true } && proxyResponse?.StatusCode == System.Net.HttpStatusCode.Unauthorized)
        {
            // Nothing of this answer reaches the browser: the proxy renews the token and replays the request once.
            attempt.UpstreamRejectedToken = true;
            return false;
        }

        var copyBody = await HttpTransformer.Empty.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);

        // The gateway alone speaks for its origin: an upstream's own Access-Control-* headers would widen the CORS
        // allow-list, its Clear-Site-Data would wipe the session cookie and every tab of the origin (the session then
        // lives on, unreachable for a logout), and its Strict-Transport-Security (max-age=0 included) would set the
        // origin's transport policy. Looked for in the upstream's answer, whose headers the base transform copied,
        // through struct enumerators that parse nothing (issue 18).
        var headers = httpContext.Response.Headers;
        if (proxyResponse is not null)
        {
            RemoveOriginWideHeaders(proxyResponse.Headers.NonValidated, headers);
            RemoveOriginWideHeaders(proxyResponse.Content.Headers.NonValidated, headers);
        }

        headers.XContentTypeOptions = "nosniff";
        if (attempt.Route.ResponseContentSecurityPolicy is { Length: > 0 } policy)
        {
            headers.Append("Content-Security-Policy", policy);
        }

        if (headers.SetCookie.Count > 0)
        {
            headers.SetCookie = attempt.Route.PassResponseCookies
                ? new(headers.SetCookie.Where(c => !IsGatewayCookie(c)).ToArray())
                : default;
        }

        if (attempt.Route.MaxResponseBodySize is { } limit && proxyResponse is not null)
        {
            if (proxyResponse.Content.Headers.ContentLength > limit)
            {
                attempt.ResponseTooLarge = true;
                return false;
            }

            httpContext.Response.Body = new LengthLimitedStream(httpContext.Response.Body, limit);
        }

        return copyBody;
    }

    private static void RemoveOriginWideHeaders(HttpHeadersNonValidated upstream, IHeaderDictionary response)
    {
        foreach (var header in upstream)
        {
            if (header.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase)
                || header.Key.Equals("Clear-Site-Data", StringComparison.OrdinalIgnoreCase)
                || header.Key.Equals("Strict-Transport-Security", StringComparison.OrdinalIgnoreCase))
            {
                response.Remove(header.Key);
            }
        }
    }

    /// <summary>Whether a <c>Set-Cookie</c> value names a cookie that is, or could be, one of the gateway's own.</summary>
    private bool IsGatewayCookie(string? setCookie)
    {
        var name = (setCookie ?? "").Split('=', 2)[0].Trim();
        return name.Length == 0
            || name.Equals(sessionCookieName, StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("__Host-portcullis", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("__Secure-portcullis", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Headers that carry identity or client addresses when a trusted proxy sets them; from a browser they are forged.
    /// Names are compared with '_' read as '-', because some servers treat the two alike.
    /// </summary>
    internal static bool IsStripped(string name)
    {
        // Normalized on the stack: this runs for every header of every proxied request.
        Span<char> normalized = name.Length <= 256 ? stackalloc char[name.Length] : new char[name.Length];
        for (var i = 0; i < name.Length; i++)
        {
            normalized[i] = name[i] == '_' ? '-' : char.ToLowerInvariant(name[i]);
        }

        // A browser's own DPoP header would ride along beside the gateway's proof.
        if (normalized is "authorization" or "cookie" or "dpop" or "forwarded" or "proxy-authorization" or "via"
            or "x-real-ip" or "x-client-ip" or "true-client-ip" or "x-cluster-client-ip" or "fastly-client-ip"
            // Path and host overrides some frameworks honour (IIS, Symfony, Zend): a browser must not re-route upstream.
            or "x-rewrite-url" or "x-host" or "x-http-host-override")
        {
            return true;
        }

        foreach (var prefix in StrippedPrefixes)
        {
            if (normalized.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether two header names are the same when '_' reads as '-' and case is ignored.</summary>
    private static bool SameName(string a, string b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        for (var i = 0; i < a.Length; i++)
        {
            var x = a[i] == '_' ? '-' : char.ToLowerInvariant(a[i]);
            var y = b[i] == '_' ? '-' : char.ToLowerInvariant(b[i]);
            if (x != y)
            {
                return false;
            }
        }

        return true;
    }

    // Identity and client-address headers that common auth proxies and platforms set for their upstreams
    // (oauth2-proxy, Grafana, Azure App Service, Google IAP, AWS ALB, Kong, Cloudflare, TLS terminators).
    private static readonly string[] StrippedPrefixes =
    [
        "x-forwarded-", "x-original-", "x-auth", "x-user", "x-remote-", "remote-user", "x-email", "x-preferred-",
        "x-webauth-", "x-ms-client-principal", "x-ms-token-", "x-goog-", "x-amzn-oidc-", "x-consumer-",
        "x-credential-", "x-ssl-", "x-client-cert", "x-client-dn", "x-id-token", "x-access-token", "cf-", "x-portcullis-",
    ];
}
