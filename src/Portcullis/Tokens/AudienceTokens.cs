using Duende.IdentityModel.Client;
using Portcullis.Configuration;
using Portcullis.Primitives;
using Portcullis.Storage;
using Portcullis.Vault;

namespace Portcullis.Tokens;

/// <summary>
/// A grant's tokens for single APIs (issue 20 item 2, ADR 0043): which of the grant's tokens a request gets, when it may
/// not have one, and the token requests that obtain one. A route with an audience is only ever given the token stored
/// under its own <see cref="TokenAudience.Key"/>: never the grant's own access token, never another API's.
/// </summary>
internal static class AudienceTokens
{
    /// <summary>RFC 8693 §3: the subject token is an OAuth access token.</summary>
    public const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";

    public static PortcullisError NoRefreshToken { get; } =
        new(403, "forbidden", "This API needs a token of its own, and this sign-in has no refresh token to obtain one with (offline access was not granted).");

    public static PortcullisError ExchangeRefused { get; } =
        new(403, "forbidden", "The identity provider refused to exchange this sign-in's token for one this API accepts.");

    /// <summary>The token a request for <paramref name="audience"/> would use (the grant's own when null), or none yet.</summary>
    public static CurrentToken? Current(TokenSet tokens, TokenAudience? audience)
    {
        if (audience is null)
        {
            return new CurrentToken(tokens.AccessToken, tokens.AccessTokenExpiresAt, tokens.RefreshDueAt);
        }

        return tokens.AudienceTokens?.TryGetValue(audience.Key, out var token) == true
            ? new CurrentToken(token.AccessToken, token.ExpiresAt, token.RefreshDueAt)
            : null;
    }

    /// <summary>Why this grant cannot give a token for <paramref name="audience"/> at all; null when it can.</summary>
    public static PortcullisError? Refusal(GrantRecord grant, TokenSet tokens, TokenAudience audience)
    {
        if (!string.Equals(grant.Provider, audience.Provider, StringComparison.Ordinal))
        {
            return new PortcullisError(403, "forbidden", $"This API accepts only tokens from provider '{audience.Provider}'; sign in with it.");
        }

        // A resource the sign-in did not name (the route was added since): asking would spend the refresh token for a refusal.
        if (audience is { Exchange: false, Parameter: TokenAudience.ResourceParameter }
            && tokens.SignInResources?.Contains(audience.Value, StringComparer.Ordinal) != true)
        {
            return new PortcullisError(403, "forbidden", "This sign-in did not ask for access to this API (it was configured since). Sign in again.");
        }

        return !audience.Exchange && tokens.RefreshToken is null ? NoRefreshToken : null;
    }

    /// <summary>Names the audience in a refresh request: <c>resource</c> (RFC 8707 §2.2) or <c>audience</c>.</summary>
    public static void Name(RefreshTokenRequest request, TokenAudience? audience)
    {
        if (audience?.Parameter == TokenAudience.ResourceParameter)
        {
            request.Resource.Add(audience.Value);
        }
        else if (audience is not null)
        {
            request.Parameters.Add(TokenAudience.AudienceParameter, audience.Value);
        }
    }

    /// <summary>The RFC 8693 token exchange request for <paramref name="audience"/> with <paramref name="subjectToken"/>.</summary>
    public static TokenExchangeTokenRequest Exchange(string tokenEndpoint, string subjectToken, TokenAudience audience, string? proof)
    {
        var request = new TokenExchangeTokenRequest
        {
            Address = tokenEndpoint,
            SubjectToken = subjectToken,
            SubjectTokenType = AccessTokenType,
            RequestedTokenType = AccessTokenType,
            DPoPProofToken = proof,
        };
        if (audience.Parameter == TokenAudience.ResourceParameter)
        {
            request.Resource = audience.Value;
        }
        else
        {
            request.Audience = audience.Value;
        }

        return request;
    }

    /// <summary>The grant's API tokens with <paramref name="audience"/>'s replaced by the one in <paramref name="response"/>.</summary>
    public static IReadOnlyDictionary<string, AudienceToken> With(TokenSet tokens, TokenAudience audience, TokenResponse response, DateTimeOffset now, TimeSpan skew)
    {
        var timing = TokenSet.Create(response.AccessToken!, null, null, response.ExpiresIn, null, now, skew);
        var next = tokens.AudienceTokens is null
            ? new Dictionary<string, AudienceToken>(StringComparer.Ordinal)
            : new Dictionary<string, AudienceToken>(tokens.AudienceTokens, StringComparer.Ordinal);
        next[audience.Key] = new AudienceToken(response.AccessToken!, timing.AccessTokenExpiresAt, timing.RefreshDueAt);
        return next;
    }
}

/// <summary>The access token a request would be given, with its expiry and refresh point.</summary>
internal readonly record struct CurrentToken(string AccessToken, DateTimeOffset? ExpiresAt, DateTimeOffset? DueAt);

/// <summary>One refresh a request asks for: of which grant and token, and what it saw (the token it found due or the upstream rejected).</summary>
internal sealed record RefreshRequest(string GrantId, long SeenVersion, string? SeenToken, string? Rejected, TokenAudience? Audience)
{
    /// <summary>Requests of this process share one refresh per grant and token; across tokens and nodes, the grant's lease orders them.</summary>
    public string FlightKey => Audience is null ? GrantId : GrantId + "\n" + Audience.Key;
}
