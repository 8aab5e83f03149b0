namespace Portcullis.Storage;

/// <summary>Tokens still to be revoked at their provider, retried by any node until done (DESIGN.md invariant 7).</summary>
public interface IRevocationOutbox
{
    /// <summary>Queues a revocation.</summary>
    Task SavePendingRevocationAsync(PendingRevocationRecord revocation, CancellationToken cancellationToken);

    /// <summary>
    /// Returns up to <paramref name="limit"/> revocations due at <paramref name="now"/> and, in the same atomic step,
    /// moves their next attempt to <paramref name="claimUntil"/> so no other node works on them meanwhile.
    /// </summary>
    Task<IReadOnlyList<PendingRevocationRecord>> ClaimDueRevocationsAsync(DateTimeOffset now, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken);

    /// <summary>Records a failed attempt and when to try again.</summary>
    Task UpdatePendingRevocationAsync(string id, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken);

    /// <summary>Forgets a revocation (done, or given up).</summary>
    Task DeletePendingRevocationAsync(string id, CancellationToken cancellationToken);

    /// <summary>How many revocations are queued, due or not (the <c>portcullis.revocations.pending</c> gauge).</summary>
    Task<long> CountPendingRevocationsAsync(CancellationToken cancellationToken);
}
