using Portcullis.Storage;

namespace Portcullis.Tests.Storage.Contracts;

/// <summary>The contract of leases and used-markers shared by every node (<see cref="ILeaseStore"/>).</summary>
/// <remarks>
/// A lease runs out by the store's clock (ADR 0022): PostgreSQL's and Redis' real clocks, so those suites let real time
/// pass (a few seconds, sized for a loaded machine); SQLite's is the node's <see cref="TimeProvider"/>, which its suite
/// moves instead.
/// </remarks>
public abstract class LeaseStoreContractTests<TStore> : StoreContractTests<TStore>
    where TStore : class, IStoreLifecycle, ILeaseStore
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    /// <summary>Lets <paramref name="span"/> pass on the clock the store judges leases by.</summary>
    protected abstract Task LetStoreTimePassAsync(TimeSpan span);

    [Fact]
    public async Task ALeaseHasOneHolderUnderConcurrencyUntilReleased()
    {
        var duration = TimeSpan.FromSeconds(30);
        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            Task.Run(() => Store.TryAcquireLeaseAsync("refresh:g1", $"node-{i}", duration, default))));
        Assert.Equal(1, results.Count(acquired => acquired));
        var holder = $"node-{Array.IndexOf(results, true)}";

        await Store.ReleaseLeaseAsync("refresh:g1", "intruder", default); // not the holder: no effect
        Assert.False(await Store.TryAcquireLeaseAsync("refresh:g1", "intruder", duration, default));
        Assert.False(await Store.TryRenewLeaseAsync("refresh:g1", "intruder", duration, default));
        Assert.True(await Store.TryAcquireLeaseAsync("refresh:other", "intruder", duration, default)); // leases are per name
        Assert.False(await Store.TryAcquireLeaseAsync("refresh:g1", holder, duration, default)); // not re-entrant

        await Store.ReleaseLeaseAsync("refresh:g1", holder, default);
        Assert.False(await Store.TryRenewLeaseAsync("refresh:g1", holder, duration, default)); // released: nothing to renew
        Assert.True(await Store.TryAcquireLeaseAsync("refresh:g1", "second", duration, default));
    }

    [Fact]
    public async Task ALeaseRunsOutByTheStoresClockUnlessItsHolderRenewsIt()
    {
        // A wait can only overrun on a loaded machine, never end early: every step that must still be inside a lease keeps
        // 7 s or more in hand (2 s was not always enough in CI: a step came late and found the first lease over); each that
        // must be past one merely waits long enough. Renewing sets the lease to its duration from now, longer or shorter.
        var first = TimeSpan.FromSeconds(8);
        var renewed = TimeSpan.FromSeconds(20);
        var held = TimeSpan.FromSeconds(30);
        Assert.True(await Store.TryAcquireLeaseAsync("refresh:g1", "holder", first, default));
        Assert.False(await Store.TryRenewLeaseAsync("refresh:g1", "intruder", renewed, default)); // only the holder renews

        await LetStoreTimePassAsync(TimeSpan.FromSeconds(1));
        Assert.True(await Store.TryRenewLeaseAsync("refresh:g1", "holder", renewed, default)); // now 20 s from here
        await LetStoreTimePassAsync(TimeSpan.FromSeconds(8.5)); // past the first 8 s, 11.5 s inside the renewed ones
        Assert.False(await Store.TryAcquireLeaseAsync("refresh:g1", "intruder", held, default));

        // The holder froze and did not renew in time: its lease ran out, and it cannot renew or release someone else's.
        Assert.True(await Store.TryRenewLeaseAsync("refresh:g1", "holder", TimeSpan.FromSeconds(1), default));
        await LetStoreTimePassAsync(TimeSpan.FromSeconds(2));
        Assert.False(await Store.TryRenewLeaseAsync("refresh:g1", "holder", renewed, default));
        Assert.True(await Store.TryAcquireLeaseAsync("refresh:g1", "next", held, default));
        await Store.ReleaseLeaseAsync("refresh:g1", "holder", default); // the old holder's late release must not free it
        Assert.False(await Store.TryRenewLeaseAsync("refresh:g1", "holder", held, default));
        Assert.False(await Store.TryAcquireLeaseAsync("refresh:g1", "third", held, default));
        Assert.True(await Store.TryRenewLeaseAsync("refresh:g1", "next", held, default));
    }

    [Fact]
    public async Task AMarkerIsRecordedOnceUntilItExpires()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ =>
            Task.Run(() => Store.TryMarkUsedAsync("jti-1", Now + Hour, Now, default))));
        Assert.Equal(1, results.Count(first => first));
        Assert.False(await Store.TryMarkUsedAsync("jti-1", Now + Hour, Now + TimeSpan.FromMinutes(59), default));
        Assert.True(await Store.TryMarkUsedAsync("jti-2", Now + Hour, Now, default));
        Assert.True(await Store.TryMarkUsedAsync("jti-1", Now + 3 * Hour, Now + Hour, default));
    }
}
