using Portcullis.Storage;

namespace Portcullis.Tests.Storage.Contracts;

/// <summary>The contract of pending revocations claimed by one node at a time (<see cref="IRevocationOutbox"/>).</summary>
public abstract class RevocationOutboxContractTests<TStore> : StoreContractTests<TStore>
    where TStore : class, IStoreLifecycle, IRevocationOutbox
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    [Fact]
    public async Task DueRevocationsAreClaimedUntilTheClaimRunsOut()
    {
        var due = new PendingRevocationRecord("r1", "main", "alice", [1, 2, 3], 0, Now, Now + Hour, Now);
        await Store.SavePendingRevocationAsync(due, default);
        await Store.SavePendingRevocationAsync(due with { Id = "r2", UserId = null, NextAttemptAt = Now - TimeSpan.FromSeconds(1) }, default);
        await Store.SavePendingRevocationAsync(due with { Id = "r3", NextAttemptAt = Now + TimeSpan.FromMinutes(5) }, default);

        var claimUntil = Now + TimeSpan.FromMinutes(1);
        var claimed = await Store.ClaimDueRevocationsAsync(Now, claimUntil, 10, default);
        Assert.Equal(["r1", "r2"], claimed.Select(r => r.Id).Order());
        var r1 = claimed.Single(r => r.Id == "r1");
        Assert.Equal(("main", "alice", 0, Now + Hour, Now), (r1.Provider, r1.UserId, r1.Attempts, r1.GiveUpAt, r1.CreatedAt));
        Assert.Equal([1, 2, 3], r1.Token);
        Assert.Null(claimed.Single(r => r.Id == "r2").UserId);

        Assert.Empty(await Store.ClaimDueRevocationsAsync(Now, claimUntil, 10, default)); // claimed: nobody else gets them
        Assert.Equal(["r1", "r2"], (await Store.ClaimDueRevocationsAsync(claimUntil, claimUntil + Hour, 10, default)).Select(r => r.Id).Order());

        await Store.UpdatePendingRevocationAsync("r1", 3, Now + 2 * Hour, default);
        await Store.DeletePendingRevocationAsync("r2", default);
        await Store.UpdatePendingRevocationAsync("missing", 1, Now, default);
        var later = await Store.ClaimDueRevocationsAsync(Now + 3 * Hour, Now + 4 * Hour, 10, default);
        Assert.Equal(["r1", "r3"], later.Select(r => r.Id).Order());
        Assert.Equal(3, later.Single(r => r.Id == "r1").Attempts);
        Assert.Single(await Store.ClaimDueRevocationsAsync(Now + 5 * Hour, Now + 6 * Hour, 1, default)); // limit
    }

    [Fact]
    public async Task PendingRevocationsAreCountedWhetherDueOrClaimed()
    {
        Assert.Equal(0, await Store.CountPendingRevocationsAsync(default));
        var due = new PendingRevocationRecord("c1", "main", "alice", [1], 0, Now, Now + Hour, Now);
        await Store.SavePendingRevocationAsync(due, default);
        await Store.SavePendingRevocationAsync(due with { Id = "c2", NextAttemptAt = Now + Hour }, default);
        await Store.ClaimDueRevocationsAsync(Now, Now + Hour, 10, default);
        Assert.Equal(2, await Store.CountPendingRevocationsAsync(default));

        await Store.DeletePendingRevocationAsync("c1", default);
        Assert.Equal(1, await Store.CountPendingRevocationsAsync(default));
    }

    [Fact]
    public async Task ConcurrentClaimersNeverGetTheSameRevocation()
    {
        for (var i = 0; i < 40; i++)
        {
            await Store.SavePendingRevocationAsync(new PendingRevocationRecord($"r{i}", "main", null, [1], 0, Now, Now + Hour, Now), default);
        }

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            Task.Run(() => Store.ClaimDueRevocationsAsync(Now, Now + Hour, 10, default))));
        var ids = claims.SelectMany(c => c.Select(r => r.Id)).ToList();
        Assert.Equal(40, ids.Count);
        Assert.Equal(40, ids.Distinct().Count());
    }
}
