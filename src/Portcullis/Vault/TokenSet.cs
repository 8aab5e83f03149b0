namespace Portcullis.Vault;

/// <summary>The tokens of one grant, as they exist only in memory and, encrypted, in the store.</summary>
internal sealed record TokenSet(
    string AccessToken,
    string? RefreshToken,
    string? IdToken,
    DateTimeOffset? AccessTokenExpiresAt,
    string? Scope);
