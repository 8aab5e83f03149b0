using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Portcullis.Diagnostics;
using Portcullis.Primitives;

namespace Portcullis.Agent;

/// <summary>A validated ID token: who it names and the claims worth keeping with the session.</summary>
internal sealed record ValidatedIdToken(string Subject, string? SessionId, Dictionary<string, JsonElement> Claims)
{
    /// <summary><c>auth_time</c>, seconds since the epoch, when present.</summary>
    public long? AuthTime { get; init; }

    public string? Acr { get; init; }
}

/// <summary>What the check of an ID token that came with a refreshed access token found.</summary>
internal enum RefreshedIdToken
{
    /// <summary>Valid and about the same user: it replaces the stored ID token.</summary>
    Accepted,

    /// <summary>
    /// Signed under a key that cannot be read now, and naming the same user: the refreshed tokens are used, this ID token
    /// is not (the stored one stays until a later refresh brings one that can be checked). Equivalent to a refresh
    /// answer without an ID token, which providers may send (OpenID Connect Core §12.2).
    /// </summary>
    Unverifiable,

    /// <summary>Forged, tampered with, expired, for another client or about another user: the grant ends.</summary>
    Refused,
}

/// <summary>
/// ID token validation (OpenID Connect Core §3.1.3.7) on Microsoft.IdentityModel: signature against the provider's
/// JWKS, <c>iss</c>, <c>aud</c>, <c>exp</c>, then <c>iat</c> (required, not in the future: the library does not check
/// it), <c>nonce</c> and <c>azp</c>.
/// </summary>
internal sealed class IdTokenValidator(TimeProvider time, ILogger<IdTokenValidator> logger)
{
    // Protocol claims describe the token, not the user; they are not kept as user claims. `scope` is here because
    // granted scopes come only from the token response: a claim of that name must never pass for one.
    private static readonly HashSet<string> ProtocolClaims =
        ["iss", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "azp", "jti", "sid", "s_hash", "auth_time", "acr", "amr", "scope"];

    // The last second DateTimeOffset can hold (9999-12-31T23:59:59Z).
    private const long MaxUnixSeconds = 253_402_300_799;

    // What only a validated ID token may say about the authentication itself (kept from it, never from userinfo).
    private static readonly string[] AuthenticationClaims = ["auth_time", "amr"];

    /// <summary>
    /// Whether a claim of this name may come only from a validated ID token or the token response, never from another
    /// source such as userinfo: the token's own protocol claims, granted scopes, and how and when the user authenticated.
    /// </summary>
    public static bool IsReservedClaim(string name) => ProtocolClaims.Contains(name);

    public async Task<Outcome<ValidatedIdToken>> ValidateAsync(ProviderRuntime provider, string? idToken, string expectedNonce, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(idToken))
        {
            return Refuse(provider, "the token response has no id_token");
        }

        var (token, problem) = await ValidateSignedAsync(provider, idToken, cancellationToken);
        if (token is null)
        {
            return Refuse(provider, problem!);
        }

        if (!token.TryGetPayloadValue<string>("nonce", out var nonce) || !FixedTimeEquals(nonce, expectedNonce))
        {
            return Refuse(provider, "nonce mismatch");
        }

        using var payload = JsonDocument.Parse(Base64UrlEncoder.Decode(token.EncodedPayload));
        var claims = payload.RootElement.EnumerateObject()
            .Where(p => !ProtocolClaims.Contains(p.Name))
            .ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
        foreach (var name in AuthenticationClaims)
        {
            if (payload.RootElement.TryGetProperty(name, out var value))
            {
                claims[name] = value.Clone();
            }
        }

        payload.RootElement.TryGetProperty("auth_time", out var authTime);

        token.TryGetPayloadValue<string>("sid", out var sid);
        token.TryGetPayloadValue<string>("acr", out var acr);
        long? authTimeValue = authTime.ValueKind == JsonValueKind.Number && authTime.TryGetInt64(out var seconds) ? seconds : null;
        if (authTime.ValueKind != JsonValueKind.Undefined && authTimeValue is not (>= 0 and <= MaxUnixSeconds))
        {
            // Seconds since 1970 (OpenID Connect Core §2); anything else (milliseconds, text) would fail later as a date.
            return Refuse(provider, "auth_time is not a time in seconds");
        }

        return new ValidatedIdToken(token.Subject, sid, claims) { AuthTime = authTimeValue, Acr = acr };
    }

    /// <summary>
    /// An ID token that came with a refreshed access token (OpenID Connect Core §12.2): signed by the provider for this
    /// client, not expired, and about the same user as the one from the login (<paramref name="previousIdToken"/>, stored
    /// after it was validated). Tokens for another user must never be taken for this user's. A token signed under a key
    /// the gateway cannot read yet (the provider rotated its keys and they could not be read again just now: the JWKS
    /// is down, or it was read within <see cref="ProviderRuntime.MetadataRefetchInterval"/> before the rotation) is
    /// <see cref="RefreshedIdToken.Unverifiable"/>, not refused: the refresh token is already spent, so refusing would sign
    /// the user out over the provider's key rollover. Its <c>sub</c> must still match.
    /// </summary>
    public async Task<RefreshedIdToken> ValidateRefreshedAsync(ProviderRuntime provider, string idToken, string? previousIdToken, CancellationToken cancellationToken)
    {
        var (token, problem) = await ValidateSignedAsync(provider, idToken, cancellationToken);
        var unverifiable = problem == nameof(SecurityTokenSignatureKeyNotFoundException);
        var subject = token?.Subject ?? (unverifiable ? UnverifiedSubject(idToken) : null);
        if ((token is not null || unverifiable)
            && (previousIdToken is null || new JsonWebToken(previousIdToken).Subject is not { Length: > 0 } previous || subject != previous))
        {
            problem = "sub differs from the login's ID token";
            unverifiable = false;
        }

        if (unverifiable)
        {
            Log.RefreshedIdTokenUnverifiable(logger, provider.Name);
            return RefreshedIdToken.Unverifiable;
        }

        if (problem is not null)
        {
            Log.IdTokenRefused(logger, provider.Name, "refreshed: " + problem);
            return RefreshedIdToken.Refused;
        }

        return RefreshedIdToken.Accepted;
    }

    /// <summary>The <c>sub</c> a token names, read without checking its signature; null when it cannot be read.</summary>
    private static string? UnverifiedSubject(string jwt)
    {
        try
        {
            return new JsonWebToken(jwt).Subject;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Signature, <c>iss</c>, <c>aud</c>, <c>exp</c>, then <c>iat</c> and <c>azp</c>, which the library does not check.</summary>
    private async Task<(JsonWebToken? Token, string? Problem)> ValidateSignedAsync(ProviderRuntime provider, string idToken, CancellationToken cancellationToken)
    {
        var result = await ProviderSignedJwt.ValidateAsync(provider, idToken, requireExpiration: true, cancellationToken);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken token)
        {
            return (null, result.Exception?.GetType().Name ?? "invalid token");
        }

        // A token "issued" in the future was minted by someone whose clock, or intentions, are wrong (OIDC Core §3.1.3.7
        // item 10): refuse it beyond the skew allowed for exp.
        if (!token.TryGetPayloadValue<long>("iat", out var issuedAt)
            || DateTimeOffset.FromUnixTimeSeconds(issuedAt) > time.GetUtcNow() + ProviderSignedJwt.ClockSkew)
        {
            return (null, "iat missing or in the future");
        }

        if (token.Audiences.Count() > 1 && (!token.TryGetPayloadValue<string>("azp", out var azp) || azp != provider.Options.ClientId))
        {
            return (null, "azp is not this client");
        }

        if (string.IsNullOrEmpty(token.Subject))
        {
            return (null, "no sub");
        }

        return (token, null);
    }

    private PortcullisError Refuse(ProviderRuntime provider, string reason)
    {
        Log.IdTokenRefused(logger, provider.Name, reason);
        return PortcullisError.LoginFailed("The identity provider's ID token could not be verified. Start the sign-in again.");
    }

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}
