using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Portcullis.Agent;
using Portcullis.Authorization;
using Portcullis.Diagnostics;
using Portcullis.Primitives;
using Portcullis.Sessions;

namespace Portcullis.Proxy;

/// <summary>
/// Bearer pass-through (issue 20 item 4, ADR 0042). On a route with <c>AcceptBearer</c>, a request that carries no session
/// cookie but <c>Authorization: Bearer</c> is a caller with its own token (a CLI, a mobile app): no ambient credential is
/// involved, so the anti-forgery check does not apply; the route's provider must confirm the token, the route's
/// <c>RequireScopes</c>/<c>RequireClaims</c> are judged on its claims, and it is forwarded as it came. A request with the
/// session cookie is a cookie request, whatever else it carries, and passes every cookie check.
/// </summary>
internal sealed class BearerPassThrough(
    SessionCookies cookies,
    ProviderRegistry providers,
    BearerTokenVerifier verifier,
    IAuthorizationService authorization,
    ILogger<ApiProxy> logger)
{
    private const string Scheme = "Bearer ";

    /// <summary>The caller's token when this request takes the bearer way on <paramref name="route"/>; null when it is a cookie (or anonymous) request.</summary>
    public string? TokenOf(HttpContext context, ApiRoute route)
    {
        if (route.Bearer is null || cookies.ReadSession(context.Request) is not null)
        {
            return null;
        }

        var header = context.Request.Headers.Authorization;
        return header.Count == 1 && header[0] is { } value && value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            ? value[Scheme.Length..].Trim()
            : null;
    }

    /// <summary>
    /// Whether the anti-forgery check is moot for this request: on a route with <c>AcceptBearer</c> it carries no session
    /// cookie and either its own token, or (on a <c>user</c> route) no credential at all. Neither brings an ambient
    /// credential a foreign page could borrow, and the second is refused with 401 and a <c>Bearer</c> challenge, so a
    /// client that did not know it must authenticate learns how (RFC 6750 §3.1) instead of reading a CSRF refusal.
    /// </summary>
    public bool BringsNoAmbientCredential(HttpContext context, ApiRoute route) =>
        route.Bearer is not null
        && cookies.ReadSession(context.Request) is null
        && (route.TokenMode == Configuration.ApiTokenModes.User || TokenOf(context, route) is not null);

    /// <summary>
    /// RFC 6750 §3.1: on a route that accepts bearer tokens, a 401 for want of a session also names the scheme a caller
    /// may use, without an error code (the request had no bearer token to find fault with). Other answers are unchanged.
    /// </summary>
    public static PortcullisError Challenge(ApiRoute route, PortcullisError refusal) =>
        route.Bearer is not null && refusal.StatusCode == StatusCodes.Status401Unauthorized && refusal.WwwAuthenticate is null
            ? refusal with { WwwAuthenticate = "Bearer" }
            : refusal;

    public async Task<ProxyCredential> ResolveAsync(HttpContext context, ApiRoute route, string token)
    {
        var bearer = route.Bearer!;
        if (providers.Find(bearer.Provider) is not { } provider)
        {
            return Refuse(route, bearer.Provider, "the route's provider is not configured");
        }

        // RFC 6750 §2.1: b64token characters only; anything else is no token any provider issued.
        if (token.Length == 0 || token.Length > MaxTokenLength || !token.All(IsTokenChar))
        {
            return Refuse(route, provider.Name, "malformed token");
        }

        var verdict = await verifier.VerifyAsync(provider, token, bearer.Audiences, bearer.AcceptWithoutAudience, context.RequestAborted);
        if (verdict.ProviderUnavailable)
        {
            Log.BearerProviderUnavailable(logger, route.Name, provider.Name, verdict.Refusal!);
            return new ProxyCredential(null, null, PortcullisError.ProviderUnavailable with { StatusCode = 503, RetryAfterSeconds = 5 });
        }

        if (verdict.Claims is not { } claims)
        {
            return Refuse(route, provider.Name, verdict.Refusal!);
        }

        if (bearer.Requirements is { } requirements)
        {
            var result = await authorization.AuthorizeAsync(PrincipalOf(claims), null, requirements);
            if (!result.Succeeded)
            {
                var error = AuthorizationErrors.For(result.Failure);
                Log.RouteForbidden(logger, route.Name, error.Message);
                return new ProxyCredential(null, null, error with { WwwAuthenticate = $"Bearer error=\"insufficient_scope\"" });
            }
        }

        return new ProxyCredential(token, null, null) { PassThrough = true };
    }

    /// <summary>RFC 6750 §3.1: 401 with <c>error="invalid_token"</c>; the reason stays in the (debug) log.</summary>
    private ProxyCredential Refuse(ApiRoute route, string provider, string reason)
    {
        Log.BearerRefused(logger, route.Name, provider, reason);
        return new ProxyCredential(null, null, InvalidToken);
    }

    /// <summary>The claims as a principal for the route's requirements: one <c>scope</c> claim per granted scope, arrays as one claim per element.</summary>
    private static ClaimsPrincipal PrincipalOf(IReadOnlyDictionary<string, JsonElement> claims)
    {
        var identity = new ClaimsIdentity("Bearer", "sub", "role");
        foreach (var (type, value) in claims)
        {
            if (type == PortcullisAuthenticationDefaults.ScopeClaimType && value.ValueKind == JsonValueKind.String)
            {
                foreach (var scope in value.GetString()!.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    identity.AddClaim(new Claim(type, scope));
                }

                continue;
            }

            foreach (var item in value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToArray() : [value])
            {
                if (item.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)
                {
                    identity.AddClaim(new Claim(type, item.ValueKind == JsonValueKind.String ? item.GetString()! : item.GetRawText()));
                }
            }
        }

        return new ClaimsPrincipal(identity);
    }

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '+' or '/' or '=';

    /// <summary>Larger than any access token a provider issues, small enough that nobody makes the gateway parse megabytes.</summary>
    private const int MaxTokenLength = 16 * 1024;

    private static PortcullisError InvalidToken { get; } =
        new(401, "invalid_token", "The bearer token is not valid for this API: expired, revoked, or issued for another audience or by another provider.")
        {
            WwwAuthenticate = "Bearer error=\"invalid_token\"",
        };
}
