using Portcullis.Storage;

namespace Portcullis.Tests.Storage.Contracts;

/// <summary>The contract of leases and used-markers shared by every node (<see cref="ILeaseStore"/>).</summary>
public abstract class LeaseStoreContractTests<TStore> : StoreContractTests<TStore>
    where TStore : class, IStoreLifecycle, ILeaseStore
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    [Fact]
    public async Task ALeaseHasOneHolderUnderConcurrencyUntilReleasedOrExpired()
    {
        var duration = TimeSpan.FromSeconds(30);
        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            Task.Run(() => Store.TryAcquireLeaseAsync("refresh:g1", $"node-{i}", Now, duration, default))));
        Assert.Equal(1, results.Count(acquired => acquired));
        var holder = $"node-{Array.IndexOf(results, true)}";

        await Store.ReleaseLeaseAsync("refresh:g1", "intruder", default); // not the holder: no effect
        Assert.False(await Store.TryAcquireLeaseAsync("refresh:g1", "intruder", Now + TimeSpan.FromSeconds(29), duration, default));
        Assert.True(await Store.TryAcquireLeaseAsync("refresh:other", "intruder", Now, duration, default)); // leases are per name

        await Store.ReleaseLeaseAsync("refresh:g1", holder, default);
        Assert.True(await Store.TryAcquireLeaseAsync("refresh:g1", "second", Now, duration, default));

        // The holder crashed without releasing: the lease is free again once it has run out.
        Assert.False(await Store.TryAcquireLeaseAsync("refresh:g1", "third", Now + TimeSpan.FromSeconds(10), duration, default));
        Assert.True(await Store.TryAcquireLeaseAsync("refresh:g1", "third", Now + duration, duration, default));
        await Store.ReleaseLeaseAsync("refresh:g1", "second", default); // the old holder's late release must not free it
        Assert.False(await Store.TryAcquireLeaseAsync("refresh:g1", "fourth", Now + duration, duration, default));
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
