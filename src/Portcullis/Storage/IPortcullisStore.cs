namespace Portcullis.Storage;

/// <summary>
/// Persistence for users, grants, sessions, login transactions, pending revocations, leases and the audit log. Every backend implements this one interface
/// and passes the same abstract test suite. Values that are secret arrive here already encrypted or hashed.
/// </summary>
public interface IPortcullisStore
{
    /// <summary>Creates the schema or migrates it to the current version.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    Task<bool> IsHealthyAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Returns the user the identity (provider, subject) belongs to, creating both on first sight; safe under concurrent
    /// calls. A linked identity returns the user it was linked to.
    /// </summary>
    Task<UserRecord> GetOrCreateUserAsync(string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The user for (provider, subject), or null when the gateway has never seen them.</summary>
    Task<UserRecord?> FindUserAsync(string provider, string subject, CancellationToken cancellationToken);

    /// <summary>
    /// Adds the identity (provider, subject) to an existing user, unless it already belongs to someone: identities
    /// move only by explicit linking of a new one, never by re-assignment.
    /// </summary>
    Task<IdentityLinkResult> LinkIdentityAsync(string userId, string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Every identity of the user, oldest first.</summary>
    Task<IReadOnlyList<IdentityRecord>> GetIdentitiesAsync(string userId, CancellationToken cancellationToken);

    Task SaveLoginTransactionAsync(LoginTransactionRecord transaction, int maxPerBinding, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Removes and returns the transaction when both its key and its browser binding match and it has not expired;
    /// otherwise returns null and changes nothing. Removal makes each transaction single-use.
    /// </summary>
    Task<LoginTransactionRecord?> TakeLoginTransactionAsync(string key, string bindingHash, DateTimeOffset now, CancellationToken cancellationToken);

    Task<GrantRecord?> GetGrantAsync(string id, CancellationToken cancellationToken);

    Task<GrantRecord?> FindGrantAsync(string userId, string provider, CancellationToken cancellationToken);

    /// <summary>Inserts a grant (when <paramref name="expectedVersion"/> is 0) or replaces it if its version still matches; false on a lost race.</summary>
    Task<bool> SaveGrantAsync(GrantRecord grant, long expectedVersion, CancellationToken cancellationToken);

    Task DeleteGrantAsync(string id, CancellationToken cancellationToken);

    Task CreateSessionAsync(SessionRecord session, CancellationToken cancellationToken);

    /// <summary>The session with this key if it exists and has not expired at <paramref name="now"/>.</summary>
    Task<SessionRecord?> GetSessionAsync(string key, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// The session with this key (as <see cref="GetSessionAsync"/> answers) together with its grant, read in one round
    /// trip: every API call needs both. The grant is null when it no longer exists. Built-in stores answer with one
    /// statement or script; this default makes two calls, for stores written before the method existed.
    /// </summary>
    async Task<SessionAndGrant?> GetSessionAndGrantAsync(string key, DateTimeOffset now, CancellationToken cancellationToken) =>
        await GetSessionAsync(key, now, cancellationToken) is { } session
            ? new SessionAndGrant(session, await GetGrantAsync(session.GrantId, cancellationToken))
            : null;

    Task TouchSessionAsync(string key, DateTimeOffset lastSeenAt, DateTimeOffset idleExpiresAt, CancellationToken cancellationToken);

    /// <summary>Deletes the session; returns false when it did not exist.</summary>
    Task<bool> DeleteSessionAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes every session of the user ("log out everywhere"), or only those signed in through
    /// <paramref name="provider"/> when it is given (back-channel logout by <c>sub</c>); returns how many went.
    /// </summary>
    Task<int> DeleteSessionsForUserAsync(string userId, string? provider, CancellationToken cancellationToken);

    /// <summary>Deletes the sessions that use the grant (the provider no longer honours it); returns how many went.</summary>
    Task<int> DeleteSessionsForGrantAsync(string grantId, CancellationToken cancellationToken);

    /// <summary>Deletes the sessions of one provider-side session (<c>sid</c>, back-channel logout); returns how many went.</summary>
    Task<int> DeleteSessionsForProviderSessionAsync(string provider, string providerSessionId, CancellationToken cancellationToken);

    /// <summary>The user's sessions that have not expired at <paramref name="now"/>, newest first.</summary>
    Task<IReadOnlyList<SessionRecord>> ListSessionsForUserAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes the user's session with this handle; false when the user has no such session.</summary>
    Task<bool> DeleteSessionByHandleAsync(string userId, string handle, CancellationToken cancellationToken);

    Task<int> CountSessionsForGrantAsync(string grantId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the named lease for <paramref name="owner"/> until <paramref name="now"/> + <paramref name="duration"/>
    /// when nobody holds it or the holder's lease has run out; false when someone else holds it. Leases make work
    /// such as a refresh happen once across every gateway node sharing the store.
    /// </summary>
    Task<bool> TryAcquireLeaseAsync(string name, string owner, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Gives the lease back if <paramref name="owner"/> still holds it.</summary>
    Task ReleaseLeaseAsync(string name, string owner, CancellationToken cancellationToken);

    /// <summary>
    /// Records <paramref name="key"/> as used until <paramref name="expiresAt"/>; false when it was already recorded
    /// and has not expired (replay detection, e.g. a logout token's <c>jti</c>). Atomic across nodes.
    /// </summary>
    Task<bool> TryMarkUsedAsync(string key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken);

    Task SavePendingRevocationAsync(PendingRevocationRecord revocation, CancellationToken cancellationToken);

    /// <summary>
    /// Returns up to <paramref name="limit"/> revocations due at <paramref name="now"/> and, in the same atomic step,
    /// moves their next attempt to <paramref name="claimUntil"/> so no other node works on them meanwhile.
    /// </summary>
    Task<IReadOnlyList<PendingRevocationRecord>> ClaimDueRevocationsAsync(DateTimeOffset now, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken);

    Task UpdatePendingRevocationAsync(string id, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken);

    Task DeletePendingRevocationAsync(string id, CancellationToken cancellationToken);

    Task AppendAuditAsync(AuditRecord entry, CancellationToken cancellationToken);

    Task<IReadOnlyList<AuditRecord>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes expired sessions, login transactions, leases and used-markers, grants that can no longer be used
    /// (no refresh token, access token expired, no session left), and audit entries older than
    /// <paramref name="auditBefore"/>; returns how many rows went.
    /// </summary>
    Task<int> DeleteExpiredAsync(DateTimeOffset now, DateTimeOffset auditBefore, CancellationToken cancellationToken);
}
