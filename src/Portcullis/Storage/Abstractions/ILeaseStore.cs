namespace Portcullis.Storage;

/// <summary>Coordination between gateway nodes that share the store: leases and single-use markers.</summary>
/// <remarks>
/// A lease's expiry is judged by the store's clock (PostgreSQL's <c>clock_timestamp()</c>, Redis' own TTL), never by
/// the calling node's: nodes whose clocks disagree, or a node that was frozen, still agree on who holds a lease
/// (ADR 0022). A lease is only a best effort at "one holder": work that must not be done twice is also fenced where its
/// result is written (the grant's version, <see cref="IGrantStore.SaveGrantAsync"/>).
/// </remarks>
public interface ILeaseStore
{
    /// <summary>
    /// Takes the named lease for <paramref name="owner"/> for <paramref name="duration"/>, measured by the store's clock,
    /// when nobody holds it or the holder's lease has run out; false when someone else holds it. Leases make work such
    /// as a refresh happen once across every gateway node sharing the store.
    /// </summary>
    Task<bool> TryAcquireLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>
    /// Extends the named lease to <paramref name="duration"/> from now, by the store's clock, if <paramref name="owner"/>
    /// still holds it and it has not run out; false otherwise (the holder has lost it and must assume another node may
    /// hold it now).
    /// </summary>
    Task<bool> TryRenewLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Gives the lease back if <paramref name="owner"/> still holds it; does nothing otherwise.</summary>
    Task ReleaseLeaseAsync(string name, string owner, CancellationToken cancellationToken);

    /// <summary>
    /// Records <paramref name="key"/> as used until <paramref name="expiresAt"/>; false when it was already recorded
    /// and has not expired (replay detection, e.g. a logout token's <c>jti</c>). Atomic across nodes.
    /// </summary>
    Task<bool> TryMarkUsedAsync(string key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken);
}
