namespace Portcullis.Vault;

/// <summary>The tokens of one grant, as they exist only in memory and, encrypted, in the store.</summary>
internal sealed record TokenSet(
    string AccessToken,
    string? RefreshToken,
    string? IdToken,
    DateTimeOffset? AccessTokenExpiresAt,
    string? Scope)
{
    /// <summary>When to refresh proactively: <c>Refresh:Skew</c> before expiry, but never in the first half of a
    /// short-lived token's life (otherwise a token living less than the skew would be refreshed on every request).</summary>
    public DateTimeOffset? RefreshDueAt { get; init; }

    /// <summary>
    /// Set when a refresh token request ended without an answer after it may have reached the provider (deadline,
    /// connection reset): the provider may have rotated the refresh token into an answer nobody read. Until the access
    /// token expires it is used as it is; then the refresh token is presented once more (ADR 0021).
    /// </summary>
    public DateTimeOffset? RefreshOutcomeUnknownSince { get; init; }

    /// <summary>
    /// When the refresh token stops working, where the provider said so (GitHub's <c>refresh_token_expires_in</c>,
    /// Keycloak's <c>refresh_expires_in</c>); null when unknown. No session outlives it (issue 17 item 9).
    /// </summary>
    public DateTimeOffset? RefreshTokenExpiresAt { get; init; }

    /// <summary>
    /// Set, on the node's clock, just before a refresh token request is sent, and gone from the tokens that request's
    /// answer brings: while it stands, a token request for this grant may be outstanding somewhere. A node that takes the
    /// refresh lease and finds it (the holder froze or died past its lease) does not present the refresh token until
    /// <c>Refresh:TokenRequestDeadline</c> after it, and then treats the outcome as unknown (ADR 0022).
    /// </summary>
    public DateTimeOffset? RefreshStartedAt { get; init; }

    /// <summary>
    /// The grant's DPoP private key (RFC 9449) when its provider binds tokens to one; encrypted with the tokens and
    /// never sent anywhere: only proofs signed with it leave the gateway. Null for bearer tokens.
    /// </summary>
    public string? DPoPKey { get; init; }

    /// <summary>
    /// Access tokens minted for one API each (a route's <c>Resource</c> or <c>Audience</c>, ADR 0043), by
    /// <c>TokenAudience.Key</c>; obtained with this grant's refresh token or by exchanging its access token,
    /// and sealed with the grant like its own tokens. Null when there are none.
    /// </summary>
    public IReadOnlyDictionary<string, AudienceToken>? AudienceTokens { get; init; }

    /// <summary>
    /// The resource indicators named in the sign-in that created the grant (RFC 8707): a provider such as oidc-provider
    /// refreshes for a resource only when it was named then, and its refused refresh has already spent the refresh token,
    /// so no other resource is ever asked for with this grant. Null when none were named.
    /// </summary>
    public IReadOnlyList<string>? SignInResources { get; init; }

    public static TokenSet Create(string accessToken, string? refreshToken, string? idToken, int expiresIn, string? scope, DateTimeOffset now, TimeSpan skew)
    {
        if (expiresIn <= 0)
        {
            return new TokenSet(accessToken, refreshToken, idToken, null, scope);
        }

        var lifetime = TimeSpan.FromSeconds(expiresIn);
        var lead = skew < lifetime / 2 ? skew : lifetime / 2;
        return new TokenSet(accessToken, refreshToken, idToken, now + lifetime, scope) { RefreshDueAt = now + lifetime - lead };
    }
}

/// <summary>An access token minted for one API (one resource or audience), with its own expiry and refresh point.</summary>
internal sealed record AudienceToken(string AccessToken, DateTimeOffset? ExpiresAt, DateTimeOffset? RefreshDueAt);
