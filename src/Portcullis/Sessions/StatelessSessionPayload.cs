using Portcullis.Vault;

namespace Portcullis.Sessions;

/// <summary>
/// What the stateless session cookie carries (ADR 0033): the session's data and its token set without the refresh token
/// (that one rides in a cookie of its own), and the instant after which the cookie is refused whatever it says, which
/// bounds how long a copy replayed after logout stays usable.
/// </summary>
internal sealed record StatelessSessionPayload(SessionData Data, TokenSet Tokens, DateTimeOffset IssuedAt, DateTimeOffset NotAfter);

/// <summary>The stateless refresh-token cookie's content: the token and the session it belongs to.</summary>
internal sealed record StatelessRefreshPayload(string RefreshToken, string GrantId, DateTimeOffset NotAfter);
