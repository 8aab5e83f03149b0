namespace Portcullis.Storage;

/// <summary>A person known to the gateway, keyed by the provider and the provider's subject.</summary>
public sealed record UserRecord(string Id, string Provider, string Subject, DateTimeOffset CreatedAt);

/// <summary>
/// The tokens one login obtained at one provider, owned by the session that login created (ADR 0027).
/// <see cref="Tokens"/> is ciphertext bound to <see cref="Id"/>; <see cref="Version"/> increases with every write
/// (optimistic concurrency). <see cref="HasRefreshToken"/> tells, without decrypting, whether the user granted offline
/// access; <see cref="Offline"/> marks the one grant per user and provider kept for workers
/// (<c>Tokens:OfflineAccess</c>). <see cref="SessionKeyed"/> marks tokens sealed under the key in its session's
/// cookie (split-key mode, ADR 0032): only a request of that session can open or rewrite them.
/// </summary>
public sealed record GrantRecord(
    string Id,
    string UserId,
    string Provider,
    byte[] Tokens,
    DateTimeOffset? AccessTokenExpiresAt,
    long Version,
    DateTimeOffset UpdatedAt,
    bool HasRefreshToken = false,
    bool Offline = false,
    bool SessionKeyed = false);

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

/// <summary>A session and the grant it uses, read together; <see cref="Grant"/> is null when the grant is gone.</summary>
public sealed record SessionAndGrant(SessionRecord Session, GrantRecord? Grant);

/// <summary>A login in progress: <see cref="Key"/> is the hash of <c>state</c>; <see cref="Data"/> is ciphertext bound to it.</summary>
public sealed record LoginTransactionRecord(string Key, string BindingHash, byte[] Data, DateTimeOffset ExpiresAt);

/// <summary>
/// A token whose revocation at the provider has not succeeded yet (DESIGN.md invariant 7). <see cref="Token"/> is
/// ciphertext bound to <see cref="Id"/>; the worker retries it with backoff until it succeeds or <see cref="GiveUpAt"/>.
/// </summary>
public sealed record PendingRevocationRecord(
    string Id,
    string Provider,
    string? UserId,
    byte[] Token,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    DateTimeOffset GiveUpAt,
    DateTimeOffset CreatedAt);

/// <summary>One audited event. It names who and what, never a secret: no token, cookie value or session key.</summary>
public sealed record AuditRecord(
    long Id,
    DateTimeOffset At,
    string Event,
    string Outcome,
    string? UserId = null,
    string? Provider = null,
    string? SessionHandle = null,
    string? Actor = null,
    string? Detail = null);

/// <summary>A filter over the audit log; newest first.</summary>
public sealed record AuditQuery(string? UserId = null, string? Event = null, DateTimeOffset? Since = null, int Limit = 100);

/// <summary>One way a user signs in: the provider's stable subject, mapped to the user it belongs to.</summary>
public sealed record IdentityRecord(string Provider, string Subject, string UserId, DateTimeOffset CreatedAt);

/// <summary>
/// What one sweep of <see cref="IStoreLifecycle.DeleteExpiredAsync"/> removed: <see cref="Removed"/> rows of every kind
/// (the sessions included), and of them the sessions that ended because they sat unused past their idle expiry
/// (<see cref="IdleSessions"/>) or reached their absolute expiry (<see cref="AbsoluteSessions"/>: the absolute limit came
/// first, or both at once). The sweeper adds the two to <c>portcullis.sessions.ended</c> with reasons <c>idle</c> and
/// <c>absolute</c>.
/// </summary>
public sealed record ExpiredSweep(int Removed, int IdleSessions, int AbsoluteSessions);

/// <summary>What linking an identity to a user did.</summary>
public enum IdentityLinkResult
{
    /// <summary>The identity was new and now belongs to the user.</summary>
    Linked,

    /// <summary>The identity already belonged to this user; nothing changed.</summary>
    AlreadyLinked,

    /// <summary>The identity belongs to another user; nothing changed (accounts are never merged implicitly).</summary>
    BelongsToAnotherUser,
}
