using Duende.IdentityModel.Client;
using Portcullis.Vault;

namespace Portcullis.Agent;

/// <summary>
/// The refresh token's lifetime where a provider announces it in the token response: GitHub (expiring user tokens)
/// sends <c>refresh_token_expires_in</c>, Keycloak <c>refresh_expires_in</c> (0 there means "does not expire").
/// </summary>
internal static class RefreshTokenLifetime
{
    /// <summary>
    /// <paramref name="tokens"/> with the refresh token's expiry from <paramref name="response"/>; when the response
    /// announces none, a refresh token kept from before keeps its expiry and a new one has none known.
    /// </summary>
    public static TokenSet Apply(TokenSet tokens, TokenResponse response, DateTimeOffset now, TokenSet? previous = null)
    {
        var seconds = response.Json is { } json ? json.TryGetInt("refresh_token_expires_in") ?? json.TryGetInt("refresh_expires_in") : null;
        if (seconds is > 0)
        {
            return tokens with { RefreshTokenExpiresAt = now + TimeSpan.FromSeconds(seconds.Value) };
        }

        return previous is not null && previous.RefreshToken == tokens.RefreshToken
            ? tokens with { RefreshTokenExpiresAt = previous.RefreshTokenExpiresAt }
            : tokens;
    }
}
