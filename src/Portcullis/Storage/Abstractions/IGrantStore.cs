namespace Portcullis.Storage;

/// <summary>The encrypted tokens of each session's login (one grant per session, ADR 0027), with optimistic concurrency.</summary>
public interface IGrantStore
{
    /// <summary>The grant with this id, or null.</summary>
    Task<GrantRecord?> GetGrantAsync(string id, CancellationToken cancellationToken);

    /// <summary>The user's grant at <paramref name="provider"/> kept for offline use (<see cref="GrantRecord.Offline"/>), or null.</summary>
    Task<GrantRecord?> FindGrantAsync(string userId, string provider, CancellationToken cancellationToken);

    /// <summary>
    /// Inserts a grant (when <paramref name="expectedVersion"/> is 0) or replaces its tokens if its version still matches;
    /// false on a lost race. Inserting a grant marked <see cref="GrantRecord.Offline"/> takes the mark from the user's
    /// previous offline grant at that provider in the same atomic step (at most one per user and provider); an update
    /// leaves the mark as it is.
    /// </summary>
    Task<bool> SaveGrantAsync(GrantRecord grant, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> grants that no session live at <paramref name="now"/> points at, last written
    /// before <paramref name="writtenBefore"/>, and not kept for offline use unless <paramref name="includeOffline"/>:
    /// the grants to end (ADR 0027). <paramref name="writtenBefore"/> keeps out a login that has saved its grant but not
    /// yet created its session; the caller checks each grant again before it ends it.
    /// </summary>
    Task<IReadOnlyList<GrantRecord>> ListUnusedGrantsAsync(
        DateTimeOffset now, DateTimeOffset writtenBefore, bool includeOffline, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes the grant; nothing happens when it does not exist.</summary>
    Task DeleteGrantAsync(string id, CancellationToken cancellationToken);
}
