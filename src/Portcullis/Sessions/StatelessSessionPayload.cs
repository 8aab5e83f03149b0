using Portcullis.Vault;

namespace Portcullis.Sessions;

/// <summary>
/// What the stateless session cookie carries (ADR 0033): the session's data and its token set without the refresh token
/// (that one rides in a cookie of its own), when the cookie was written (<see cref="IssuedAt"/>: a cookie older than
/// <c>Session:MaxCookieAge</c> is refused) and the session's absolute end (<see cref="NotAfter"/>). Together they bound
/// how long a copy replayed after logout stays usable.
/// </summary>
internal sealed record StatelessSessionPayload(SessionData Data, TokenSet Tokens, DateTimeOffset IssuedAt, DateTimeOffset NotAfter)
{
    /// <summary>The session's public handle (what <c>/bff/user</c> shows), unrelated to <see cref="SessionData.GrantId"/>.</summary>
    public string Handle { get; init; } = "";

    /// <summary>The provider the session signed in with.</summary>
    public string Provider { get; init; } = "";

    /// <summary>The provider's session id (<c>sid</c>), when it sent one.</summary>
    public string? ProviderSessionId { get; init; }

    /// <summary>When the user signed in.</summary>
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>
/// The stateless refresh-token cookie's content: the token, the session it belongs to (the session cookie's
/// <see cref="SessionData.GrantId"/>, a random id per login) and the session's absolute end.
/// </summary>
internal sealed record StatelessRefreshPayload(string RefreshToken, string GrantId, DateTimeOffset NotAfter);

/// <summary>
/// A refresh's result as published to the cross-node coordinator (ADR 0033), sealed with the key ring under a purpose
/// bound to the refresh token's hash: the new tokens, or null when the provider answered <c>invalid_grant</c>.
/// </summary>
internal sealed record StatelessRefreshResult(TokenSet? Tokens);
