using Portcullis.Storage;

namespace Portcullis.Tests.Storage.Contracts;

/// <summary>The contract of migration and the periodic sweep (<see cref="IStoreLifecycle"/>); the sweep spans every entity, so this suite needs the whole store.</summary>
public abstract class StoreLifecycleContractTests<TStore> : StoreContractTests<TStore>
    where TStore : class, IStoreLifecycle, IPortcullisStore
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    [Fact]
    public async Task InitializingTwiceKeepsEverything()
    {
        var user = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        await Store.InitializeAsync(default);
        Assert.Equal(user, await Store.FindUserAsync("main", "alice", default));
        Assert.True(await Store.IsHealthyAsync(default));
    }

    [Fact]
    public async Task CleanupRemovesWhatExpiredAndKeepsWhatIsStillUsable()
    {
        var user = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var second = TimeSpan.FromSeconds(1);
        await Store.CreateSessionAsync(NewSession("expired", user.Id, "g-live", Now + second, Now + Hour), default); // idle
        await Store.CreateSessionAsync(NewSession("capped", user.Id, "g-live", Now + second, Now + second), default); // absolute
        await Store.CreateSessionAsync(NewSession("live", user.Id, "g-live", Now + Hour, Now + Hour), default);
        await Store.SaveLoginTransactionAsync(new LoginTransactionRecord("t-expired", "b", [1], Now + second), 5, Now, default);
        await Store.SaveLoginTransactionAsync(new LoginTransactionRecord("t-live", "b", [1], Now + Hour), 5, Now, default);
        // Grants without a refresh token whose access token expired are useless once no session uses them.
        var other = await Store.GetOrCreateUserAsync("other", "alice", Now, default);
        var third = await Store.GetOrCreateUserAsync("third", "alice", Now, default);
        await Store.SaveGrantAsync(new GrantRecord("g-dead", user.Id, "main", [1], Now + second, 1, Now, false), 0, default);
        await Store.SaveGrantAsync(new GrantRecord("g-refreshable", other.Id, "main", [1], Now + second, 1, Now, true), 0, default);
        await Store.SaveGrantAsync(new GrantRecord("g-live", third.Id, "main", [1], Now + second, 1, Now, false), 0, default);
        await Store.AppendAuditAsync(new AuditRecord(0, Now - Hour, "old", "success"), default);
        await Store.AppendAuditAsync(new AuditRecord(0, Now, "recent", "success"), default);

        // Before the sweep an expired session is still stored, but never served.
        var later = Now + 2 * second;
        Assert.Null(await Store.GetSessionAsync("expired", later, default));
        Assert.Null(await Store.GetSessionAndGrantAsync("capped", later, default));
        Assert.Equal(["live"], (await Store.ListSessionsForUserAsync(user.Id, later, default)).Select(s => s.Key));
        Assert.Equal(1, await Store.CountSessionsForGrantAsync("g-live", later, default));

        var sweep = await Store.DeleteExpiredAsync(later, Now - TimeSpan.FromMinutes(1), default);

        // Two sessions (one idle, one capped by its absolute limit), a login, a grant and an audit entry.
        Assert.Equal(new ExpiredSweep(5, IdleSessions: 1, AbsoluteSessions: 1), sweep);
        Assert.Null(await Store.GetSessionAsync("expired", Now, default)); // gone, not merely filtered
        Assert.Null(await Store.GetSessionAsync("capped", Now, default));
        Assert.NotNull(await Store.GetSessionAsync("live", Now, default));
        Assert.Null(await Store.TakeLoginTransactionAsync("t-expired", "b", Now, default));
        Assert.NotNull(await Store.TakeLoginTransactionAsync("t-live", "b", Now, default));
        Assert.Null(await Store.GetGrantAsync("g-dead", default));
        Assert.Null(await Store.FindGrantAsync(user.Id, "main", default));
        Assert.NotNull(await Store.GetGrantAsync("g-refreshable", default));
        Assert.NotNull(await Store.GetGrantAsync("g-live", default));
        Assert.Equal(["recent"], (await Store.QueryAuditAsync(new AuditQuery(), default)).Select(e => e.Event));
        Assert.Equal(["live"], (await Store.ListSessionsForUserAsync(user.Id, Now, default)).Select(s => s.Key));
    }

    [Fact]
    public async Task ASessionPastItsExpiryIsNeverServedYetTheSweepStillCountsHowItEnded()
    {
        // Real time: Redis' own TTL would drop the key at its expiry; the store keeps it (unserved) for the sweep.
        var user = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var start = DateTimeOffset.UtcNow;
        await Store.CreateSessionAsync(NewSession("short", user.Id, "g", start + TimeSpan.FromMilliseconds(300), start + Hour, created: start), default);
        await Task.Delay(TimeSpan.FromSeconds(1));

        var now = DateTimeOffset.UtcNow;
        Assert.Null(await Store.GetSessionAsync("short", now, default));
        Assert.Null(await Store.GetSessionAndGrantAsync("short", now, default));
        Assert.Empty(await Store.ListSessionsForUserAsync(user.Id, now, default));
        var sweep = await Store.DeleteExpiredAsync(now, now - Hour, default);
        Assert.Equal((1, 0), (sweep.IdleSessions, sweep.AbsoluteSessions));
        Assert.Equal(0, (await Store.DeleteExpiredAsync(now, now - Hour, default)).IdleSessions);
    }
}
