namespace Portcullis.Storage;

/// <summary>Coordination between gateway nodes that share the store: leases and single-use markers.</summary>
public interface ILeaseStore
{
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
}
