using System.Text.Json;
using Duende.IdentityModel.Client;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Portcullis.Agent;

/// <summary>What the provider said about a caller's token: its claims when it is good, else why not, or that it could not be asked.</summary>
internal sealed record BearerVerdict(IReadOnlyDictionary<string, JsonElement>? Claims, string? Refusal, bool ProviderUnavailable = false)
{
    public static BearerVerdict Refuse(string reason) => new(null, reason);

    public static BearerVerdict Unavailable(string reason) => new(null, reason, ProviderUnavailable: true);
}

/// <summary>
/// Confirms an access token a caller presents itself (bearer pass-through, issue 20 item 4, ADR 0042) with the provider
/// that issued it. A JWT is validated on Microsoft.IdentityModel against the provider's JWKS (signature, <c>iss</c>,
/// <c>exp</c> within <see cref="ProviderSignedJwt.ClockSkew"/>, an <c>aud</c> among the route's audiences); an ID token, a
/// logout token or a sender-constrained token is refused whatever its audience. Anything else is introspected at the
/// provider (RFC 7662) with the gateway's client credentials, positive answers cached by the token's hash; the route's
/// audiences are judged on every call, cached answer or not, since one token may be presented on many routes.
/// </summary>
internal sealed class BearerTokenVerifier(ProviderClient client, IntrospectionCache cache)
{
    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    // Claims only an ID token (OIDC Core §2, §3.1.3.6) or a logout token (Back-Channel Logout §2.4) carries.
    private static readonly string[] NotAccessTokenClaims = ["nonce", "at_hash", "c_hash", "s_hash", "events"];

    /// <summary>
    /// The provider's verdict on <paramref name="token"/> for a route accepting <paramref name="audiences"/>; an
    /// introspection answer that states no <c>aud</c> passes only with <paramref name="acceptWithoutAudience"/> (a JWT
    /// must always name one).
    /// </summary>
    public async Task<BearerVerdict> VerifyAsync(ProviderRuntime provider, string token, IReadOnlyList<string> audiences, bool acceptWithoutAudience, CancellationToken cancellationToken)
    {
        // Three dot-separated parts with a readable header: a JWS. Whatever else (an opaque string, a JWE) only the provider can judge.
        return Handler.CanReadToken(token) && token.Count(c => c == '.') == 2
            ? await VerifyJwtAsync(provider, token, audiences, cancellationToken)
            : await IntrospectAsync(provider, token, audiences, acceptWithoutAudience, cancellationToken);
    }

    private static async Task<BearerVerdict> VerifyJwtAsync(ProviderRuntime provider, string token, IReadOnlyList<string> audiences, CancellationToken cancellationToken)
    {
        TokenValidationResult result;
        try
        {
            result = await ProviderSignedJwt.ValidateAsync(provider, token, requireExpiration: true, cancellationToken, audiences);
        }
        catch (Exception exception) when (exception is InvalidOperationException or IOException or HttpRequestException)
        {
            return BearerVerdict.Unavailable("the provider's signing keys could not be loaded");
        }

        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return BearerVerdict.Refuse("JWT " + (result.Exception?.GetType().Name ?? "invalid"));
        }

        // RFC 9068 §4: "at+jwt" marks an access token; tokens typed as something else (logout, DPoP proof, ...) are refused.
        // Many providers type their access tokens "JWT" or not at all, so those are accepted.
        if (jwt.Typ is { Length: > 0 } typ && typ.ToLowerInvariant() is not ("at+jwt" or "application/at+jwt" or "jwt"))
        {
            return BearerVerdict.Refuse($"JWT of type '{typ}'");
        }

        // Audience confusion: the gateway's client id is its ID tokens' audience, never an API's.
        if (jwt.Audiences.Contains(provider.Options.ClientId, StringComparer.Ordinal))
        {
            return BearerVerdict.Refuse("JWT addressed to the gateway itself (an ID token)");
        }

        // As for introspected tokens: the gateway's own access tokens are never a caller's to present. RFC 9068 names
        // the client in client_id; Keycloak, Entra ID v2 and Auth0 name it in azp instead.
        if ((jwt.TryGetPayloadValue<string>("client_id", out var clientId) && clientId == provider.Options.ClientId)
            || (jwt.TryGetPayloadValue<string>("azp", out var authorizedParty) && authorizedParty == provider.Options.ClientId))
        {
            return BearerVerdict.Refuse("JWT issued to the gateway itself");
        }

        if (NotAccessTokenClaims.FirstOrDefault(name => jwt.TryGetPayloadValue<object>(name, out _)) is { } marker)
        {
            return BearerVerdict.Refuse($"JWT with '{marker}', an ID or logout token claim");
        }

        // A sender-constrained token (RFC 9449 §6, RFC 8705 §3) needs its proof of possession, which a bearer has not got.
        if (jwt.TryGetPayloadValue<object>("cnf", out _))
        {
            return BearerVerdict.Refuse("JWT bound to a key (cnf)");
        }

        return new BearerVerdict(ClaimsOf(Base64UrlEncoder.Decode(jwt.EncodedPayload)), null);
    }

    private async Task<BearerVerdict> IntrospectAsync(ProviderRuntime provider, string token, IReadOnlyList<string> audiences, bool acceptWithoutAudience, CancellationToken cancellationToken)
    {
        // The cache holds what the provider said about the token, keyed by provider and token alone: one introspection
        // serves every route. What depends on the route is judged here on every call, so an answer cached on one API's
        // route never opens another's (security review finding 1).
        var key = IntrospectionCache.Key(provider.Name, token);
        if (cache.Find(key) is not { } claims)
        {
            var answer = await AskProviderAsync(provider, token, cancellationToken);
            if (answer.Claims is null)
            {
                return answer;
            }

            claims = answer.Claims;
            cache.Remember(key, claims, DateTimeOffset.FromUnixTimeSeconds(claims["exp"].GetInt64())); // an integer: ProviderProblem checked it
        }

        return AudienceProblem(claims, audiences, acceptWithoutAudience) is { } problem
            ? BearerVerdict.Refuse(problem)
            : new BearerVerdict(claims, null);
    }

    /// <summary>Introspects <paramref name="token"/>: its claims when the provider vouches for it as an access token of a caller, whatever the route.</summary>
    private async Task<BearerVerdict> AskProviderAsync(ProviderRuntime provider, string token, CancellationToken cancellationToken)
    {
        OpenIdConnectConfigurationView metadata;
        try
        {
            var configuration = await provider.Metadata.GetConfigurationAsync(cancellationToken);
            metadata = new OpenIdConnectConfigurationView(configuration.Issuer, configuration.IntrospectionEndpoint);
        }
        catch (Exception exception) when (exception is InvalidOperationException or IOException or HttpRequestException)
        {
            return BearerVerdict.Unavailable("the provider's metadata could not be loaded");
        }

        if (metadata.IntrospectionEndpoint is not { Length: > 0 } endpoint)
        {
            return BearerVerdict.Refuse("opaque token, and the provider has no introspection endpoint");
        }

        var request = new TokenIntrospectionRequest { Address = endpoint, Token = token, TokenTypeHint = "access_token" };
        ProviderClient.Authenticate(request, provider);
        var response = await client.Http().IntrospectTokenAsync(request, cancellationToken);
        // RFC 7662 §2.2: a token the provider does not vouch for is a 200 with active false. Anything else (the gateway's
        // credentials refused, an outage) is the gateway's problem, not the caller's.
        if (response.IsError || response.Json is not { ValueKind: JsonValueKind.Object } json)
        {
            return BearerVerdict.Unavailable($"introspection failed ({response.ErrorType}, HTTP {(int)response.HttpStatusCode})");
        }

        var claims = ClaimsOf(json.GetRawText());
        return ProviderProblem(provider, metadata.Issuer, claims) is { } problem
            ? BearerVerdict.Refuse(problem)
            : new BearerVerdict(claims, null);
    }

    /// <summary>RFC 7662 §2.2: <c>active</c>; then what ties the answer to this provider and an access token of a caller. Nothing here depends on the route.</summary>
    private static string? ProviderProblem(ProviderRuntime provider, string? issuer, Dictionary<string, JsonElement> claims)
    {
        if (!claims.TryGetValue("active", out var active) || active.ValueKind != JsonValueKind.True)
        {
            return "introspection: not active";
        }

        if (claims.TryGetValue("iss", out var iss) && (iss.ValueKind != JsonValueKind.String || iss.GetString() != issuer))
        {
            return "introspection: another issuer";
        }

        if (!claims.TryGetValue("client_id", out var clientId) || clientId.ValueKind != JsonValueKind.String)
        {
            return "introspection: no client_id";
        }

        // The gateway's own tokens never leave it for a caller; one presented back was taken from an upstream or a log.
        if (clientId.GetString() == provider.Options.ClientId)
        {
            return "introspection: a token issued to the gateway itself";
        }

        if (claims.TryGetValue("token_type", out var type) && !string.Equals(type.GetString(), "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return "introspection: not an access token";
        }

        if (claims.TryGetValue("cnf", out _))
        {
            return "introspection: bound to a key (cnf)";
        }

        // An answer without exp cannot be bounded in the cache, and a token that never expires is not one to pass on.
        if (!claims.TryGetValue("exp", out var exp) || exp.ValueKind != JsonValueKind.Number || !exp.TryGetInt64(out _))
        {
            return "introspection: no exp";
        }

        return null;
    }

    /// <summary>
    /// The route's part, judged on every call: an audience must be among the route's like a JWT's. An answer without one
    /// (with oidc-provider, a token requested without <c>resource</c>: good at userinfo, meant for no API) passes only
    /// where the route allows it.
    /// </summary>
    private static string? AudienceProblem(IReadOnlyDictionary<string, JsonElement> claims, IReadOnlyList<string> audiences, bool acceptWithoutAudience)
    {
        if (!claims.TryGetValue("aud", out var aud) || !AudiencesOf(aud).Any())
        {
            return acceptWithoutAudience ? null : "introspection: no aud, and the route does not accept tokens without an audience";
        }

        return AudiencesOf(aud).Any(a => audiences.Contains(a, StringComparer.Ordinal))
            ? null
            : "introspection: aud is not among the route's BearerAudiences";
    }

    private static IEnumerable<string> AudiencesOf(JsonElement aud) => aud.ValueKind switch
    {
        JsonValueKind.String => [aud.GetString()!],
        JsonValueKind.Array => aud.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()!),
        _ => [],
    };

    private static Dictionary<string, JsonElement> ClaimsOf(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
    }

    private readonly record struct OpenIdConnectConfigurationView(string? Issuer, string? IntrospectionEndpoint);
}
