using System.Collections.Concurrent;

namespace Portcullis.Storage;

/// <summary>
/// The opt-in per-node session cache (<c>Session:CacheDuration</c>, ADR 0017): answers
/// <see cref="ISessionStore.GetSessionAndGrantAsync"/> from what this node read at most that long ago, and forwards
/// everything else to the store. Because every write of this node passes through here, each one updates or drops the
/// copies it affects before it returns; only writes made through other nodes are seen late, by at most the duration.
/// </summary>
/// <remarks>
/// A read racing with a write must not put back what the write just removed: every invalidating write, after it reached
/// the store, bumps an epoch and drops copies by key under one lock, and a read stores its copy under the same lock only
/// if the epoch did not move while it was in flight. Hits take no lock.
/// </remarks>
internal sealed class SessionCachingStore(IPortcullisStore inner, TimeSpan duration, TimeProvider time) : IPortcullisStore, IDisposable
{
    // Every this many reads from the store, expired copies are swept: the cache holds only sessions used recently.
    // (Counting the dictionary instead would take all its locks on every miss.)
    private const int SweepEvery = 4_096;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _epoch;
    private int _readsSinceSweep;

    /// <summary>The store this cache sits in front of (key ring, re-encryption and health work on it directly).</summary>
    public IPortcullisStore Inner => inner;

    public async Task<SessionAndGrant?> GetSessionAndGrantAsync(string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_entries.TryGetValue(key, out var cached) && time.GetUtcNow() - cached.ReadAt < duration && IsLive(cached.Value.Session, now))
        {
            return cached.Value;
        }

        // A miss, an old copy or an expired one (another node may have extended it): ask the store.
        var epoch = Interlocked.Read(ref _epoch);
        var read = await inner.GetSessionAndGrantAsync(key, now, cancellationToken);
        lock (_gate)
        {
            if (read is null)
            {
                _entries.TryRemove(key, out _);
            }
            else if (_epoch == epoch)
            {
                // Otherwise a write landed while this read was in flight, and what was read may be what it changed.
                _entries[key] = new Entry(read, time.GetUtcNow());
            }
        }

        if (Interlocked.Increment(ref _readsSinceSweep) % SweepEvery == 0)
        {
            Sweep();
        }

        return read;
    }

    public async Task TouchSessionAsync(string key, DateTimeOffset lastSeenAt, DateTimeOffset idleExpiresAt, CancellationToken cancellationToken)
    {
        await inner.TouchSessionAsync(key, lastSeenAt, idleExpiresAt, cancellationToken);
        lock (_gate)
        {
            // Under the lock: a copy still here has not been invalidated, so updating it cannot revive a deleted session.
            if (_entries.TryGetValue(key, out var cached))
            {
                var session = cached.Value.Session with { LastSeenAt = lastSeenAt, IdleExpiresAt = idleExpiresAt };
                _entries[key] = cached with { Value = cached.Value with { Session = session } };
            }
        }
    }

    public Task<bool> SaveGrantAsync(GrantRecord grant, long expectedVersion, CancellationToken cancellationToken) =>
        WriteAsync(() => inner.SaveGrantAsync(grant, expectedVersion, cancellationToken), entry => entry.Session.GrantId == grant.Id);

    public Task DeleteGrantAsync(string id, CancellationToken cancellationToken) =>
        WriteAsync(async () => { await inner.DeleteGrantAsync(id, cancellationToken); return true; }, entry => entry.Session.GrantId == id);

    public Task<bool> DeleteSessionAsync(string key, CancellationToken cancellationToken) =>
        WriteAsync(() => inner.DeleteSessionAsync(key, cancellationToken), entry => entry.Session.Key == key);

    public Task<int> DeleteSessionsForUserAsync(string userId, string? provider, CancellationToken cancellationToken) =>
        WriteAsync(
            () => inner.DeleteSessionsForUserAsync(userId, provider, cancellationToken),
            entry => entry.Session.UserId == userId && (provider is null || entry.Session.Provider == provider));

    public Task<int> DeleteSessionsForGrantAsync(string grantId, CancellationToken cancellationToken) =>
        WriteAsync(() => inner.DeleteSessionsForGrantAsync(grantId, cancellationToken), entry => entry.Session.GrantId == grantId);

    public Task<int> DeleteSessionsForProviderSessionAsync(string provider, string providerSessionId, CancellationToken cancellationToken) =>
        WriteAsync(
            () => inner.DeleteSessionsForProviderSessionAsync(provider, providerSessionId, cancellationToken),
            entry => entry.Session.Provider == provider && entry.Session.ProviderSessionId == providerSessionId);

    public Task<bool> DeleteSessionByHandleAsync(string userId, string handle, CancellationToken cancellationToken) =>
        WriteAsync(() => inner.DeleteSessionByHandleAsync(userId, handle, cancellationToken), entry => entry.Session.UserId == userId && entry.Session.Handle == handle);

    public void Dispose() => (inner as IDisposable)?.Dispose();

    /// <summary>
    /// Runs the write, then — whether it succeeded, lost a race or failed half-way — bumps the epoch and drops every copy
    /// it may have changed.
    /// </summary>
    private async Task<T> WriteAsync<T>(Func<Task<T>> write, Func<SessionAndGrant, bool> affected)
    {
        try
        {
            return await write();
        }
        finally
        {
            Invalidate(affected);
        }
    }

    private void Invalidate(Func<SessionAndGrant, bool> affected)
    {
        lock (_gate)
        {
            _epoch++;
            foreach (var (key, entry) in _entries)
            {
                if (affected(entry.Value))
                {
                    _entries.TryRemove(key, out _);
                }
            }
        }
    }

    private static bool IsLive(SessionRecord session, DateTimeOffset now) => session.IdleExpiresAt > now && session.AbsoluteExpiresAt > now;

    private void Sweep()
    {
        var now = time.GetUtcNow();
        foreach (var (key, entry) in _entries)
        {
            if (now - entry.ReadAt >= duration)
            {
                _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }
        }
    }

    private sealed record Entry(SessionAndGrant Value, DateTimeOffset ReadAt);

    // Everything below passes straight through: it neither reads nor changes a cached session or grant.
    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    public Task<bool> IsHealthyAsync(CancellationToken cancellationToken) => inner.IsHealthyAsync(cancellationToken);

    public Task<UserRecord> GetOrCreateUserAsync(string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.GetOrCreateUserAsync(provider, subject, now, cancellationToken);

    public Task<UserRecord?> FindUserAsync(string provider, string subject, CancellationToken cancellationToken) =>
        inner.FindUserAsync(provider, subject, cancellationToken);

    public Task<IdentityLinkResult> LinkIdentityAsync(string userId, string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.LinkIdentityAsync(userId, provider, subject, now, cancellationToken);

    public Task<IReadOnlyList<IdentityRecord>> GetIdentitiesAsync(string userId, CancellationToken cancellationToken) =>
        inner.GetIdentitiesAsync(userId, cancellationToken);

    public Task SaveLoginTransactionAsync(LoginTransactionRecord transaction, int maxPerBinding, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.SaveLoginTransactionAsync(transaction, maxPerBinding, now, cancellationToken);

    public Task<LoginTransactionRecord?> TakeLoginTransactionAsync(string key, string bindingHash, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.TakeLoginTransactionAsync(key, bindingHash, now, cancellationToken);

    public Task<GrantRecord?> GetGrantAsync(string id, CancellationToken cancellationToken) => inner.GetGrantAsync(id, cancellationToken);

    public Task<GrantRecord?> FindGrantAsync(string userId, string provider, CancellationToken cancellationToken) =>
        inner.FindGrantAsync(userId, provider, cancellationToken);

    public Task<IReadOnlyList<GrantRecord>> ListUnusedGrantsAsync(
        DateTimeOffset now, DateTimeOffset writtenBefore, bool includeOffline, int limit, CancellationToken cancellationToken) =>
        inner.ListUnusedGrantsAsync(now, writtenBefore, includeOffline, limit, cancellationToken);

    public Task CreateSessionAsync(SessionRecord session, CancellationToken cancellationToken) => inner.CreateSessionAsync(session, cancellationToken);

    public Task<SessionRecord?> GetSessionAsync(string key, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.GetSessionAsync(key, now, cancellationToken);

    public Task<IReadOnlyList<SessionRecord>> ListSessionsForUserAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.ListSessionsForUserAsync(userId, now, cancellationToken);

    public Task<int> CountSessionsForGrantAsync(string grantId, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.CountSessionsForGrantAsync(grantId, now, cancellationToken);

    public Task<bool> TryAcquireLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
        inner.TryAcquireLeaseAsync(name, owner, duration, cancellationToken);

    public Task<bool> TryRenewLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
        inner.TryRenewLeaseAsync(name, owner, duration, cancellationToken);

    public Task ReleaseLeaseAsync(string name, string owner, CancellationToken cancellationToken) => inner.ReleaseLeaseAsync(name, owner, cancellationToken);

    public Task<bool> TryMarkUsedAsync(string key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.TryMarkUsedAsync(key, expiresAt, now, cancellationToken);

    public Task SavePendingRevocationAsync(PendingRevocationRecord revocation, CancellationToken cancellationToken) =>
        inner.SavePendingRevocationAsync(revocation, cancellationToken);

    public Task<IReadOnlyList<PendingRevocationRecord>> ClaimDueRevocationsAsync(DateTimeOffset now, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken) =>
        inner.ClaimDueRevocationsAsync(now, claimUntil, limit, cancellationToken);

    public Task UpdatePendingRevocationAsync(string id, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken) =>
        inner.UpdatePendingRevocationAsync(id, attempts, nextAttemptAt, cancellationToken);

    public Task DeletePendingRevocationAsync(string id, CancellationToken cancellationToken) => inner.DeletePendingRevocationAsync(id, cancellationToken);

    public Task<long> CountPendingRevocationsAsync(CancellationToken cancellationToken) => inner.CountPendingRevocationsAsync(cancellationToken);

    public Task AppendAuditAsync(AuditRecord entry, CancellationToken cancellationToken) => inner.AppendAuditAsync(entry, cancellationToken);

    public Task<IReadOnlyList<AuditRecord>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken) => inner.QueryAuditAsync(query, cancellationToken);

    public Task<int> DeleteExpiredAsync(DateTimeOffset now, DateTimeOffset auditBefore, CancellationToken cancellationToken) =>
        inner.DeleteExpiredAsync(now, auditBefore, cancellationToken);
}
