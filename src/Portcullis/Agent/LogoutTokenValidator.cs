using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Portcullis.Agent;

/// <summary>Whom a verified logout token logs out: one provider session (<c>sid</c>), all of a subject's, or both narrowed.</summary>
internal sealed record LogoutTokenSubject(string? Subject, string? SessionId, string TokenId, DateTimeOffset ReplayWindowEndsAt);

/// <summary>
/// OpenID Connect Back-Channel Logout 1.0 §2.6: the logout token's signature against the provider's JWKS, <c>iss</c>,
/// <c>aud</c>, a recent <c>iat</c>, the back-channel <c>events</c> member, <c>sid</c> and/or <c>sub</c>, no <c>nonce</c>
/// (so an ID token cannot pass for a logout token) and a <c>jti</c> for replay detection.
/// </summary>
internal sealed class LogoutTokenValidator(TimeProvider time)
{
    public const string BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout";

    /// <summary>How old a logout token may be; its <c>jti</c> is remembered at least this long.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The token's subject, or the reason it was refused (never containing the token itself). Throws
    /// <see cref="ProviderKeysUnreadableException"/> when it names a signing key the gateway does not know and the
    /// provider's keys cannot be read now: a key the provider has just rolled over to cannot be told from a forged one.
    /// </summary>
    public async Task<(LogoutTokenSubject? Subject, string? Refusal)> ValidateAsync(ProviderRuntime provider, string logoutToken, CancellationToken cancellationToken)
    {
        // exp is optional in the specification; when present it is checked.
        var (result, keysUnreadable) = await ProviderSignedJwt.CheckAsync(provider, logoutToken, requireExpiration: false, cancellationToken);
        if (keysUnreadable)
        {
            throw new ProviderKeysUnreadableException();
        }

        if (!result.IsValid || result.SecurityToken is not JsonWebToken token)
        {
            return (null, result.Exception?.GetType().Name ?? "invalid token");
        }

        if (token.TryGetHeaderValue<string>("typ", out var type) && !string.Equals(type, "logout+jwt", StringComparison.OrdinalIgnoreCase)
            && !string.Equals(type, "JWT", StringComparison.OrdinalIgnoreCase))
        {
            return (null, "typ is not logout+jwt");
        }

        if (token.TryGetPayloadValue<object>("nonce", out _))
        {
            return (null, "a logout token must not contain nonce");
        }

        if (!HasBackchannelLogoutEvent(token))
        {
            return (null, "events has no back-channel logout member");
        }

        if (!token.TryGetPayloadValue<long>("iat", out var issuedAtSeconds))
        {
            return (null, "no iat");
        }

        var issuedAt = DateTimeOffset.FromUnixTimeSeconds(issuedAtSeconds);
        var now = time.GetUtcNow();
        if (issuedAt > now + ClockSkew || issuedAt < now - MaxAge)
        {
            return (null, "iat is not recent");
        }

        if (string.IsNullOrEmpty(token.Id))
        {
            return (null, "no jti");
        }

        token.TryGetPayloadValue<string>("sid", out var sid);
        var subject = string.IsNullOrEmpty(token.Subject) ? null : token.Subject;
        if (subject is null && string.IsNullOrEmpty(sid))
        {
            return (null, "neither sub nor sid");
        }

        return (new LogoutTokenSubject(subject, string.IsNullOrEmpty(sid) ? null : sid, token.Id, now + MaxAge + ClockSkew), null);
    }

    private static bool HasBackchannelLogoutEvent(JsonWebToken token)
    {
        if (!token.TryGetPayloadValue<JsonElement>("events", out var events) || events.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        return events.TryGetProperty(BackchannelLogoutEvent, out var member) && member.ValueKind == JsonValueKind.Object;
    }
}

/// <summary>A provider-signed token names a key the gateway does not know, and the provider's keys cannot be read to look it up.</summary>
internal sealed class ProviderKeysUnreadableException()
    : Exception("The token's signing key is unknown and the provider's keys could not be read again.");
