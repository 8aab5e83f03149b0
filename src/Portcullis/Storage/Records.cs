namespace Portcullis.Storage;

/// <summary>A person known to the gateway, keyed by the provider and the provider's subject.</summary>
public sealed record UserRecord(string Id, string Provider, string Subject, DateTimeOffset CreatedAt);

/// <summary>
/// The tokens one user granted the gateway at one provider. <see cref="Tokens"/> is ciphertext bound to
/// <see cref="Id"/>; <see cref="Version"/> increases with every write (optimistic concurrency).
/// </summary>
public sealed record GrantRecord(
    string Id,
    string UserId,
    string Provider,
    byte[] Tokens,
    DateTimeOffset? AccessTokenExpiresAt,
    long Version,
    DateTimeOffset UpdatedAt);

/// <summary>
/// A browser session. <see cref="Key"/> is the hash of the cookie value, never the value itself;
/// <see cref="Handle"/> is a second, unrelated identifier the user may see (e.g. to end one session).
/// <see cref="Data"/> is ciphertext bound to <see cref="Key"/>.
/// </summary>
public sealed record SessionRecord(
    string Key,
    string Handle,
    string UserId,
    string GrantId,
    string Provider,
    string? ProviderSessionId,
    byte[] Data,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastSeenAt,
    DateTimeOffset IdleExpiresAt,
    DateTimeOffset AbsoluteExpiresAt);

/// <summary>A login in progress: <see cref="Key"/> is the hash of <c>state</c>; <see cref="Data"/> is ciphertext bound to it.</summary>
public sealed record LoginTransactionRecord(string Key, string BindingHash, byte[] Data, DateTimeOffset ExpiresAt);
