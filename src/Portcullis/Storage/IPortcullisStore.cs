namespace Portcullis.Storage;

/// <summary>
/// Persistence for users, grants, sessions and login transactions. Every backend implements this one interface
/// and passes the same abstract test suite. Values that are secret arrive here already encrypted or hashed.
/// </summary>
public interface IPortcullisStore
{
    /// <summary>Creates the schema or migrates it to the current version.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    Task<bool> IsHealthyAsync(CancellationToken cancellationToken);

    /// <summary>Returns the user for (provider, subject), creating it on first sight; safe under concurrent calls.</summary>
    Task<UserRecord> GetOrCreateUserAsync(string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken);

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

    Task TouchSessionAsync(string key, DateTimeOffset lastSeenAt, DateTimeOffset idleExpiresAt, CancellationToken cancellationToken);

    /// <summary>Deletes the session; returns false when it did not exist.</summary>
    Task<bool> DeleteSessionAsync(string key, CancellationToken cancellationToken);

    /// <summary>Deletes every session of the user ("log out everywhere"); returns how many went.</summary>
    Task<int> DeleteSessionsForUserAsync(string userId, CancellationToken cancellationToken);

    Task<int> CountSessionsForGrantAsync(string grantId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes expired sessions and login transactions; returns how many rows went.</summary>
    Task<int> DeleteExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken);
}
