using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Portcullis.Diagnostics;

namespace Portcullis.Storage;

/// <summary>
/// The per-node session cache (ADR 0040, after ADR 0017): answers <see cref="ISessionStore.GetSessionAndGrantAsync"/>
/// from memory and forwards everything else to the store. Every write of this node passes through here and drops the
/// copies it may have changed before it returns, then announces the change on the store's <see cref="IStoreChangeFeed"/>
/// so the other nodes drop theirs. Copies are kept only while the feed is known to deliver; a copy is never used past
/// the session's own idle or absolute expiry, nor longer than <c>Session:CacheDuration</c> after it was read.
/// </summary>
/// <remarks>
/// A read racing with a write must not put back what the write just removed: every invalidation (this node's write, an
/// announcement from another node, the feed breaking or coming back) bumps an epoch and drops copies under one lock, and
/// a read stores its copy under the same lock only if the epoch did not move while it was in flight. Hits take no lock.
/// </remarks>
internal sealed class SessionCachingStore : IPortcullisStore, IStoreChangeObserver, IDisposable, IAsyncDisposable
{
    // Every this many reads from the store, old copies are swept: the cache holds only sessions used recently.
    // (Counting the dictionary instead would take all its locks on every miss.)
    private const int SweepEvery = 4_096;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly IPortcullisStore _inner;
    private readonly TimeSpan _duration;
    private readonly int _capacity;
    private readonly IStoreChangeFeed? _feed;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _node = Identifiers.NewId();
    private long _epoch;
    private int _count;
    private int _readsSinceSweep;
    private int _disposed;
    private volatile bool _listening;
    private bool _reportedFull;

    // feed: the store's change channel; null for a cache that only this process writes through (tests).
    public SessionCachingStore(IPortcullisStore inner, TimeSpan duration, int capacity, IStoreChangeFeed? feed, TimeProvider time, ILogger logger)
    {
        _inner = inner;
        _duration = duration;
        _capacity = capacity;
        _feed = feed;
        _time = time;
        _logger = logger;
        _listening = feed is null;
        feed?.Start(this);
    }

    /// <summary>The store this cache sits in front of (key ring, re-encryption and health work on it directly).</summary>
    public IPortcullisStore Inner => _inner;

    /// <summary>How many copies are held now (tests pin the size bound with it).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Whether copies are kept: the change feed is subscribed (tests wait for it).</summary>
    public bool IsListening => _listening;

    /// <summary>
    /// The copy <see cref="GetSessionAndGrantAsync"/> would answer from memory, without a task: the proxy's hot path asks
    /// here first, so a hit allocates nothing (issue 18).
    /// </summary>
    public bool TryGetCached(string key, DateTimeOffset now, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SessionAndGrant? value)
    {
        if (_listening && _entries.TryGetValue(key, out var cached) && _time.GetUtcNow() - cached.ReadAt < _duration && IsLive(cached.Value.Session, now))
        {
            value = cached.Value;
            return true;
        }

        value = null;
        return false;
    }

    public async Task<SessionAndGrant?> GetSessionAndGrantAsync(string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (TryGetCached(key, now, out var hit))
        {
            return hit;
        }

        // A miss, an old copy or an expired one (another node may have extended it): ask the store.
        var epoch = Interlocked.Read(ref _epoch);
        var read = await _inner.GetSessionAndGrantAsync(key, now, cancellationToken);
        lock (_gate)
        {
            if (read is null)
            {
                Remove(key);
            }
            else if (_epoch == epoch && _listening)
            {
                // Otherwise a change landed while this read was in flight, and what was read may be what it changed.
                Store(key, new Entry(read, _time.GetUtcNow()));
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
        // Not announced: another node's older copy only expires sooner (idle), and then reads the store.
        await _inner.TouchSessionAsync(key, lastSeenAt, idleExpiresAt, cancellationToken);
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
        WriteAsync(() => _inner.SaveGrantAsync(grant, expectedVersion, cancellationToken), SessionChange.Grant(grant.Id));

    public Task DeleteGrantAsync(string id, CancellationToken cancellationToken) =>
        WriteAsync(async () => { await _inner.DeleteGrantAsync(id, cancellationToken); return true; }, SessionChange.Grant(id));

    public Task<bool> DeleteSessionAsync(string key, CancellationToken cancellationToken) =>
        WriteAsync(() => _inner.DeleteSessionAsync(key, cancellationToken), SessionChange.Session(key));

    public Task<int> DeleteSessionsForUserAsync(string userId, string? provider, CancellationToken cancellationToken) =>
        WriteAsync(() => _inner.DeleteSessionsForUserAsync(userId, provider, cancellationToken), SessionChange.User(userId, provider));

    public Task<int> DeleteSessionsForGrantAsync(string grantId, CancellationToken cancellationToken) =>
        WriteAsync(() => _inner.DeleteSessionsForGrantAsync(grantId, cancellationToken), SessionChange.Grant(grantId));

    public Task<int> DeleteSessionsForProviderSessionAsync(string provider, string providerSessionId, CancellationToken cancellationToken) =>
        WriteAsync(
            () => _inner.DeleteSessionsForProviderSessionAsync(provider, providerSessionId, cancellationToken),
            SessionChange.ProviderSession(provider, providerSessionId));

    public Task<bool> DeleteSessionByHandleAsync(string userId, string handle, CancellationToken cancellationToken) =>
        WriteAsync(() => _inner.DeleteSessionByHandleAsync(userId, handle, cancellationToken), SessionChange.Handle(userId, handle));

    /// <summary>Drops every copy here and on every node (after a change this cache did not see, such as a re-encryption).</summary>
    public async Task ForgetEverythingAsync(CancellationToken cancellationToken)
    {
        Invalidate(static _ => true);
        await AnnounceAsync(SessionChange.Everything, cancellationToken);
    }

    void IStoreChangeObserver.Listening()
    {
        lock (_gate)
        {
            // Whatever changed while nobody listened was not announced to this node: start from nothing.
            _epoch++;
            Clear();
            _listening = true;
        }

        Log.SessionCacheListening(_logger);
    }

    void IStoreChangeObserver.Lost(Exception? cause)
    {
        bool was;
        lock (_gate)
        {
            was = _listening;
            _listening = false;
            _epoch++;
            Clear();
        }

        if (was)
        {
            Log.SessionCacheChannelLost(_logger, cause?.GetType().Name ?? "no heartbeat");
        }
    }

    void IStoreChangeObserver.Changed(string change)
    {
        if (change == SessionChange.Everything)
        {
            Invalidate(static _ => true);
            return;
        }

        var decoded = SessionChange.Decode(change, out var node);
        if (node != _node)
        {
            // This node's own announcements come back too; its copies were dropped before it announced.
            Invalidate(decoded);
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        // The container disposes this once per entity interface it is registered under.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (_feed is not null)
        {
            await _feed.DisposeAsync();
        }

        (_inner as IDisposable)?.Dispose();
    }

    /// <summary>
    /// Runs the write, then — whether it succeeded, lost a race or failed half-way — drops every copy it may have changed
    /// here and announces it to the other nodes. After a failed write the announcement goes on in the background: the
    /// store is likely unreachable, and the caller's error (503) must not wait for a second timeout.
    /// </summary>
    private async Task<T> WriteAsync<T>(Func<Task<T>> write, SessionChange change)
    {
        T result;
        try
        {
            result = await write();
        }
        catch
        {
            Invalidate(change);
            _ = AnnounceAsync(change.Encode(_node), CancellationToken.None);
            throw;
        }

        Invalidate(change);
        await AnnounceAsync(change.Encode(_node), CancellationToken.None);
        return result;
    }

    private async Task AnnounceAsync(string change, CancellationToken cancellationToken)
    {
        if (_feed is null)
        {
            return;
        }

        try
        {
            await _feed.PublishAsync(change, cancellationToken);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The write itself is done; other nodes may keep their copy until Session:CacheDuration (ADR 0040).
            Log.SessionChangeNotAnnounced(_logger, exception.GetType().Name);
        }
    }

    private void Invalidate(SessionChange change)
    {
        if (change.Kind != 's')
        {
            Invalidate(change.Affects);
            return;
        }

        // One session by its key (logout, the commonest change): no need to look at every copy.
        lock (_gate)
        {
            _epoch++;
            Remove(change.First);
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
                    Remove(key);
                }
            }
        }
    }

    // Called under _gate.
    private void Store(string key, Entry entry)
    {
        if (_entries.ContainsKey(key))
        {
            _entries[key] = entry;
            return;
        }

        if (_count >= _capacity)
        {
            // Full: this read is not kept. Copies older than the duration make room at the next sweep.
            if (!_reportedFull)
            {
                _reportedFull = true;
                Log.SessionCacheFull(_logger, _capacity);
            }

            return;
        }

        _entries[key] = entry;
        Interlocked.Increment(ref _count);
    }

    private void Remove(string key)
    {
        if (_entries.TryRemove(key, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    // Called under _gate.
    private void Clear()
    {
        _entries.Clear();
        Volatile.Write(ref _count, 0);
    }

    private static bool IsLive(SessionRecord session, DateTimeOffset now) => session.IdleExpiresAt > now && session.AbsoluteExpiresAt > now;

    private void Sweep()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            foreach (var (key, entry) in _entries)
            {
                if (now - entry.ReadAt >= _duration || !IsLive(entry.Value.Session, now))
                {
                    Remove(key);
                }
            }

            _reportedFull = _count >= _capacity;
        }
    }

    private sealed record Entry(SessionAndGrant Value, DateTimeOffset ReadAt);

    // Everything below passes straight through: it neither reads nor changes a cached session or grant.
    public Task InitializeAsync(CancellationToken cancellationToken) => _inner.InitializeAsync(cancellationToken);

    public Task<bool> IsHealthyAsync(CancellationToken cancellationToken) => _inner.IsHealthyAsync(cancellationToken);

    public Task<UserRecord> GetOrCreateUserAsync(string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken) =>
        _inner.GetOrCreateUserAsync(provider, subject, now, cancellationToken);

    public Task<UserRecord?> FindUserAsync(string provider, string subject, CancellationToken cancellationToken) =>
        _inner.FindUserAsync(provider, subject, cancellationToken);

    public Task<IdentityLinkResult> LinkIdentityAsync(string userId, string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken) =>
        _inner.LinkIdentityAsync(userId, provider, subject, now, cancellationToken);

    public Task<IReadOnlyList<IdentityRecord>> GetIdentitiesAsync(string userId, CancellationToken cancellationToken) =>
        _inner.GetIdentitiesAsync(userId, cancellationToken);

    public Task SetIdentityEmailHashAsync(string provider, string subject, string? emailHash, CancellationToken cancellationToken) =>
        _inner.SetIdentityEmailHashAsync(provider, subject, emailHash, cancellationToken);

    public Task<IReadOnlyList<string>> FindUsersByEmailHashAsync(IReadOnlyList<string> emailHashes, CancellationToken cancellationToken) =>
        _inner.FindUsersByEmailHashAsync(emailHashes, cancellationToken);

    public Task SaveLoginTransactionAsync(LoginTransactionRecord transaction, int maxPerBinding, DateTimeOffset now, CancellationToken cancellationToken) =>
        _inner.SaveLoginTransactionAsync(transaction, maxPerBinding, now, cancellationToken);

    public Task<LoginTransactionRecord?> TakeLoginTransactionAsync(string key, string bindingHash, DateTimeOffset now, CancellationToken cancellationToken) =>
        _inner.TakeLoginTransactionAsync(key, bindingHash, now, cancellationToken);

    public Task<GrantRecord?> GetGrantAsync(string id, CancellationToken cancellationToken) => _inner.GetGrantAsync(id, cancellationToken);

    public Task<GrantRecord?> FindGrantAsync(string userId, string provider, CancellationToken cancellationToken) =>
        _inner.FindGrantAsync(userId, provider, cancellationToken);

    public Task<IReadOnlyList<GrantRecord>> ListUnusedGrantsAsync(
        DateTimeOffset now, DateTimeOffset writtenBefore, bool includeOffline, int limit, CancellationToken cancellationToken) =>
        _inner.ListUnusedGrantsAsync(now, writtenBefore, includeOffline, limit, cancellationToken);

    public Task CreateSessionAsync(SessionRecord session, CancellationToken cancellationToken) => _inner.CreateSessionAsync(session, cancellationToken);

    public Task<SessionRecord?> GetSessionAsync(string key, DateTimeOffset now, CancellationToken cancellationToken) =>
        _inner.GetSessionAsync(key, now, cancellationToken);

    public Task<IReadOnlyList<SessionRecord>> ListSessionsForUserAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken) =>
        _inner.ListSessionsForUserAsync(userId, now, cancellationToken);

    public Task<int> CountSessionsForGrantAsync(string grantId, DateTimeOffset now, CancellationToken cancellationToken) =>
        _inner.CountSessionsForGrantAsync(grantId, now, cancellationToken);

    public Task<bool> TryAcquireLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
        _inner.TryAcquireLeaseAsync(name, owner, duration, cancellationToken);

    public Task<bool> TryRenewLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
        _inner.TryRenewLeaseAsync(name, owner, duration, cancellationToken);

    public Task ReleaseLeaseAsync(string name, string owner, CancellationToken cancellationToken) => _inner.ReleaseLeaseAsync(name, owner, cancellationToken);

    public Task<bool> TryMarkUsedAsync(string key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken) =>
        _inner.TryMarkUsedAsync(key, expiresAt, now, cancellationToken);

    public Task SavePendingRevocationAsync(PendingRevocationRecord revocation, CancellationToken cancellationToken) =>
        _inner.SavePendingRevocationAsync(revocation, cancellationToken);

    public Task<IReadOnlyList<PendingRevocationRecord>> ClaimDueRevocationsAsync(DateTimeOffset now, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken) =>
        _inner.ClaimDueRevocationsAsync(now, claimUntil, limit, cancellationToken);

    public Task UpdatePendingRevocationAsync(string id, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken) =>
        _inner.UpdatePendingRevocationAsync(id, attempts, nextAttemptAt, cancellationToken);

    public Task DeletePendingRevocationAsync(string id, CancellationToken cancellationToken) => _inner.DeletePendingRevocationAsync(id, cancellationToken);

    public Task<long> CountPendingRevocationsAsync(CancellationToken cancellationToken) => _inner.CountPendingRevocationsAsync(cancellationToken);

    public Task AppendAuditAsync(AuditRecord entry, CancellationToken cancellationToken) => _inner.AppendAuditAsync(entry, cancellationToken);

    public Task<IReadOnlyList<AuditRecord>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken) => _inner.QueryAuditAsync(query, cancellationToken);

    public Task<ExpiredSweep> DeleteExpiredAsync(DateTimeOffset now, DateTimeOffset auditBefore, CancellationToken cancellationToken) =>
        _inner.DeleteExpiredAsync(now, auditBefore, cancellationToken);
}
