using Portcullis.Storage;

namespace Portcullis.Tests.Storage.Contracts;

/// <summary>The contract of grants and their optimistic concurrency (<see cref="IGrantStore"/>); a grant belongs to a user, so the store also keeps users.</summary>
public abstract class GrantStoreContractTests<TStore> : StoreContractTests<TStore>
    where TStore : class, IStoreLifecycle, IGrantStore, IUserStore
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    [Fact]
    public async Task GrantsAreInsertedOnceAndUpdatedOnlyFromTheCurrentVersion()
    {
        var user = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var grant = new GrantRecord("g1", user.Id, "main", [1, 2, 3], Now + Hour, 1, Now, HasRefreshToken: true, Offline: true);
        Assert.True(await Store.SaveGrantAsync(grant, 0, default));
        Assert.False(await Store.SaveGrantAsync(grant with { Tokens = [9] }, 0, default)); // same id
        AssertGrant(grant, await Store.GetGrantAsync("g1", default));
        AssertGrant(grant, await Store.FindGrantAsync(user.Id, "main", default));
        Assert.Null(await Store.FindGrantAsync(user.Id, "other", default));

        // An update replaces the tokens and keeps the offline mark.
        var next = grant with { Tokens = [4, 5], AccessTokenExpiresAt = null, Version = 2, UpdatedAt = Now + Hour, HasRefreshToken = false };
        Assert.True(await Store.SaveGrantAsync(next, 1, default));
        Assert.False(await Store.SaveGrantAsync(grant with { Tokens = [7], Version = 2 }, 1, default)); // stale version
        AssertGrant(next, await Store.GetGrantAsync("g1", default));

        await Store.DeleteGrantAsync("g1", default);
        Assert.Null(await Store.GetGrantAsync("g1", default));
        Assert.Null(await Store.FindGrantAsync(user.Id, "main", default));
        Assert.True(await Store.SaveGrantAsync(grant with { Id = "g3" }, 0, default));
        Assert.Equal("g3", (await Store.FindGrantAsync(user.Id, "main", default))!.Id);
    }

    [Fact]
    public async Task EachSessionsGrantIsItsOwnRowAndOnlyTheNewestOfflineGrantIsFound()
    {
        // One grant per session (ADR 0027): a user's second grant at a provider is a row of its own, the first untouched.
        var user = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var first = new GrantRecord("g1", user.Id, "main", [1], Now + Hour, 1, Now, HasRefreshToken: true, Offline: true);
        var second = new GrantRecord("g2", user.Id, "main", [2], Now + Hour, 1, Now, HasRefreshToken: true);
        Assert.True(await Store.SaveGrantAsync(first, 0, default));
        Assert.True(await Store.SaveGrantAsync(second, 0, default));
        AssertGrant(first, await Store.GetGrantAsync("g1", default));
        AssertGrant(second, await Store.GetGrantAsync("g2", default));
        Assert.Equal("g1", (await Store.FindGrantAsync(user.Id, "main", default))!.Id); // g2 is not offline

        // A new offline grant takes the mark; the previous one stays, as an ordinary session grant.
        var third = new GrantRecord("g3", user.Id, "main", [3], Now + Hour, 1, Now, HasRefreshToken: true, Offline: true);
        Assert.True(await Store.SaveGrantAsync(third, 0, default));
        AssertGrant(third, await Store.FindGrantAsync(user.Id, "main", default));
        AssertGrant(first with { Offline = false }, await Store.GetGrantAsync("g1", default));

        // Deleting a grant that is not the offline one leaves the offline one found.
        await Store.DeleteGrantAsync("g1", default);
        Assert.Equal("g3", (await Store.FindGrantAsync(user.Id, "main", default))!.Id);
    }

    [Fact]
    public async Task ConcurrentUpdatesFromTheSameVersionHaveExactlyOneWinner()
    {
        var user = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var grant = new GrantRecord("g1", user.Id, "main", [0], Now + Hour, 1, Now, true);
        Assert.True(await Store.SaveGrantAsync(grant, 0, default));

        var results = await Task.WhenAll(Enumerable.Range(1, 30).Select(i =>
            Task.Run(() => Store.SaveGrantAsync(grant with { Tokens = [(byte)i], Version = 2 }, 1, default))));

        Assert.Equal(1, results.Count(saved => saved));
        var winner = Array.IndexOf(results, true) + 1;
        var stored = await Store.GetGrantAsync("g1", default);
        Assert.Equal(2, stored!.Version);
        Assert.Equal([(byte)winner], stored.Tokens);
    }

    [Fact]
    public async Task ConcurrentOfflineInsertsLeaveExactlyOneOfflineGrant()
    {
        var user = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Task.Run(() => Store.SaveGrantAsync(new GrantRecord($"g{i}", user.Id, "main", [(byte)i], null, 1, Now, true, Offline: true), 0, default))));
        var found = await Store.FindGrantAsync(user.Id, "main", default);
        Assert.NotNull(found);
        Assert.True(found.Offline);
        var offline = 0;
        for (var i = 0; i < 20; i++)
        {
            offline += (await Store.GetGrantAsync($"g{i}", default))?.Offline == true ? 1 : 0;
        }

        Assert.Equal(1, offline);
        Assert.Contains(results, saved => saved);
    }
}
