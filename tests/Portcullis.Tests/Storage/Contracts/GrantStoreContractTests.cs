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
        var grant = new GrantRecord("g1", user.Id, "main", [1, 2, 3], Now + Hour, 1, Now, HasRefreshToken: true);
        Assert.True(await Store.SaveGrantAsync(grant, 0, default));
        Assert.False(await Store.SaveGrantAsync(grant with { Tokens = [9] }, 0, default)); // same id
        Assert.False(await Store.SaveGrantAsync(grant with { Id = "g2" }, 0, default)); // same user and provider
        AssertGrant(grant, await Store.GetGrantAsync("g1", default));
        AssertGrant(grant, await Store.FindGrantAsync(user.Id, "main", default));
        Assert.Null(await Store.FindGrantAsync(user.Id, "other", default));

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
    public async Task ConcurrentInsertsOfOneUsersGrantHaveExactlyOneWinner()
    {
        var user = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Task.Run(() => Store.SaveGrantAsync(new GrantRecord($"g{i}", user.Id, "main", [(byte)i], null, 1, Now, true), 0, default))));
        Assert.Equal(1, results.Count(saved => saved));
    }
}
