namespace Portcullis.Storage;

/// <summary>What the host does with the store as a whole: migrate it at start, probe it for readiness, sweep it.</summary>
public interface IStoreLifecycle
{
    /// <summary>Creates the schema or migrates it to the current version; safe to run again and beside live nodes.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>True when the store answers (readiness probe).</summary>
    Task<bool> IsHealthyAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Deletes expired sessions, login transactions, leases and used-markers, grants that can no longer be used
    /// (no refresh token, access token expired, no session left), and audit entries older than
    /// <paramref name="auditBefore"/>; returns how many rows went and how many of them were sessions whose idle or
    /// absolute expiry had passed (<see cref="ExpiredSweep"/>). A store whose own expiry (a TTL) could remove a session
    /// before the sweep sees it keeps it a while longer, never serving it, so that every expired session is counted.
    /// </summary>
    Task<ExpiredSweep> DeleteExpiredAsync(DateTimeOffset now, DateTimeOffset auditBefore, CancellationToken cancellationToken);
}
