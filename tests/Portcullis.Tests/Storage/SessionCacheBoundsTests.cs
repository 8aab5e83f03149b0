using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Storage;
using Portcullis.Storage.Sqlite;

namespace Portcullis.Tests.Storage;

/// <summary>
/// The session cache's own rules against a real SQLite store (ADR 0040): a size bound, no copy past the session's
/// expiry or <c>Session:CacheDuration</c>, announcements from another node drop exactly what they name, and no copy is
/// kept while the change feed is lost. Two caches share one store and a loopback feed, as two nodes share a server.
/// </summary>
public sealed class SessionCacheBoundsTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly string _directory = Directory.CreateTempSubdirectory("portcullis-cache-bounds-").FullName;

    [Fact]
    public async Task TheCacheHoldsAtMostItsSizeAndReadsTheRestFromTheStore()
    {
        var store = await StoreWithSessionsAsync(5);
        using var cache = new SessionCachingStore(store, TimeSpan.FromMinutes(1), 3, null, TimeProvider.System, NullLogger.Instance);
        for (var i = 0; i < 5; i++)
        {
            Assert.NotNull(await cache.GetSessionAndGrantAsync($"k{i}", Now, default));
        }

        Assert.Equal(3, cache.Count);
        // The two not kept are still answered, from the store: deleted behind the cache's back, they are gone.
        await store.DeleteSessionAsync("k4", default);
        Assert.Null(await cache.GetSessionAndGrantAsync("k4", Now, default));
    }

    [Fact]
    public async Task ACopyIsNeverUsedPastTheSessionsExpiryNorPastTheCacheDuration()
    {
        var store = await StoreWithSessionsAsync(1);
        var clock = new FakeTimeProvider(Now);
        using var cache = new SessionCachingStore(store, TimeSpan.FromSeconds(30), 10, null, clock, NullLogger.Instance);
        Assert.NotNull(await cache.GetSessionAndGrantAsync("k0", Now, default));
        await store.DeleteSessionAsync("k0", default); // behind the cache's back, unannounced

        Assert.NotNull(await cache.GetSessionAndGrantAsync("k0", Now, default)); // the copy answers
        Assert.Null(await cache.GetSessionAndGrantAsync("k0", Now.AddHours(1), default)); // idle expiry: the store decides
        Assert.NotNull(await RestoreAndReadAsync(store, cache));
        await store.DeleteSessionAsync("k0", default);
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Null(await cache.GetSessionAndGrantAsync("k0", Now, default)); // too old a copy: the store decides
    }

    [Fact]
    public async Task AnAnnouncementFromAnotherNodeDropsWhatItNamesAndALostFeedKeepsNothing()
    {
        var store = await StoreWithSessionsAsync(2);
        var feed = new LoopbackFeed();
        await using var nodeA = new SessionCachingStore(store, TimeSpan.FromMinutes(1), 10, feed, TimeProvider.System, NullLogger.Instance);
        await using var nodeB = new SessionCachingStore(store, TimeSpan.FromMinutes(1), 10, feed, TimeProvider.System, NullLogger.Instance);
        feed.Listening();
        Assert.NotNull(await nodeB.GetSessionAndGrantAsync("k0", Now, default));
        Assert.NotNull(await nodeB.GetSessionAndGrantAsync("k1", Now, default));
        Assert.Equal(2, nodeB.Count);

        Assert.True(await nodeA.DeleteSessionAsync("k0", default));
        Assert.Null(await nodeB.GetSessionAndGrantAsync("k0", Now, default));
        Assert.Equal(1, nodeB.Count); // k1 kept: the announcement named only k0

        // An announcement this version cannot read drops everything rather than nothing.
        feed.Announce("from-a-newer-node\u001fz\u001fk1");
        Assert.Equal(0, nodeB.Count);

        feed.Lose();
        Assert.NotNull(await nodeB.GetSessionAndGrantAsync("k1", Now, default));
        Assert.Equal(0, nodeB.Count); // read from the store, not kept while nothing tells this node of changes
        Assert.False(nodeB.IsListening);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static async Task<SessionAndGrant?> RestoreAndReadAsync(SqliteStore store, SessionCachingStore cache)
    {
        // The idle-expired read above dropped the copy; read again at Now to hold a fresh one.
        await store.CreateSessionAsync(Session(0, "u"), default);
        return await cache.GetSessionAndGrantAsync("k0", Now, default);
    }

    private async Task<SqliteStore> StoreWithSessionsAsync(int count)
    {
        var store = new SqliteStore($"Data Source={Path.Combine(_directory, "store.db")}");
        await store.InitializeAsync(default);
        var user = await store.GetOrCreateUserAsync("main", "alice", Now, default);
        await store.SaveGrantAsync(new GrantRecord("g1", user.Id, "main", [1], Now.AddHours(1), 1, Now, true), 0, default);
        for (var i = 0; i < count; i++)
        {
            await store.CreateSessionAsync(Session(i, user.Id), default);
        }

        return store;
    }

    private static SessionRecord Session(int i, string userId) =>
        new($"k{i}", $"h{i}", userId, "g1", "main", null, [2], Now, Now, Now.AddMinutes(30), Now.AddHours(2));

    /// <summary>Delivers every announcement to every cache at once, as a server's pub/sub does on loopback.</summary>
    private sealed class LoopbackFeed : IStoreChangeFeed
    {
        private readonly List<IStoreChangeObserver> _observers = [];

        public void Start(IStoreChangeObserver observer) => _observers.Add(observer);

        public Task PublishAsync(string change, CancellationToken cancellationToken)
        {
            Announce(change);
            return Task.CompletedTask;
        }

        public void Announce(string change) => _observers.ForEach(o => o.Changed(change));

        public void Listening() => _observers.ForEach(o => o.Listening());

        public void Lose() => _observers.ForEach(o => o.Lost(null));

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
