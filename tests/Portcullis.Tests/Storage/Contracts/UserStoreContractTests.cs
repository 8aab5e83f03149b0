using Portcullis.Storage;

namespace Portcullis.Tests.Storage.Contracts;

/// <summary>The contract of users and their linked identities (<see cref="IUserStore"/>).</summary>
public abstract class UserStoreContractTests<TStore> : StoreContractTests<TStore>
    where TStore : class, IStoreLifecycle, IUserStore
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    [Fact]
    public async Task UsersAreCreatedOnceAndFoundByProviderAndSubject()
    {
        Assert.Null(await Store.FindUserAsync("main", "alice", default));
        var created = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var again = await Store.GetOrCreateUserAsync("main", "alice", Now + Hour, default);
        var other = await Store.GetOrCreateUserAsync("other", "alice", Now, default);

        Assert.Equal(created, again);
        Assert.Equal(Now, created.CreatedAt);
        Assert.Equal(created, await Store.FindUserAsync("main", "alice", default));
        Assert.NotEqual(created.Id, other.Id);
        Assert.Null(await Store.FindUserAsync("main", "bob", default));
    }

    [Fact]
    public async Task ConcurrentFirstSightOfAUserCreatesOneUser()
    {
        var users = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(() => Store.GetOrCreateUserAsync("main", "carol", Now, default))));
        Assert.Single(users.Select(u => u.Id).Distinct());
        Assert.Single(await Store.GetIdentitiesAsync(users[0].Id, default));
    }

    [Fact]
    public async Task ALinkedIdentityFindsItsUserAndNeverMovesToAnother()
    {
        var alice = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var bob = await Store.GetOrCreateUserAsync("main", "bob", Now, default);

        Assert.Equal(IdentityLinkResult.Linked, await Store.LinkIdentityAsync(alice.Id, "github", "a:1", Now + Hour, default));
        Assert.Equal(IdentityLinkResult.AlreadyLinked, await Store.LinkIdentityAsync(alice.Id, "github", "a:1", Now + 2 * Hour, default));
        Assert.Equal(IdentityLinkResult.BelongsToAnotherUser, await Store.LinkIdentityAsync(bob.Id, "github", "a:1", Now, default));
        Assert.Equal(IdentityLinkResult.BelongsToAnotherUser, await Store.LinkIdentityAsync(bob.Id, "main", "alice", Now, default));
        Assert.Equal(IdentityLinkResult.BelongsToAnotherUser, await Store.LinkIdentityAsync("no-such-user", "github", "x", Now, default));

        Assert.Equal(alice.Id, (await Store.FindUserAsync("github", "a:1", default))!.Id);
        Assert.Equal(alice.Id, (await Store.GetOrCreateUserAsync("github", "a:1", Now, default)).Id);
        Assert.Null(await Store.FindUserAsync("github", "x", default));
        Assert.Equal(
            [new IdentityRecord("main", "alice", alice.Id, Now), new IdentityRecord("github", "a:1", alice.Id, Now + Hour)],
            await Store.GetIdentitiesAsync(alice.Id, default));
        Assert.Equal([new IdentityRecord("main", "bob", bob.Id, Now)], await Store.GetIdentitiesAsync(bob.Id, default));
        Assert.Empty(await Store.GetIdentitiesAsync("no-such-user", default));
    }

    [Fact]
    public async Task TwoUsersRacingToLinkOneIdentityLeaveItWithExactlyOne()
    {
        var users = new[] { await Store.GetOrCreateUserAsync("main", "alice", Now, default), await Store.GetOrCreateUserAsync("main", "bob", Now, default) };
        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            Task.Run(async () => (User: users[i % 2].Id, Result: await Store.LinkIdentityAsync(users[i % 2].Id, "github", "shared", Now, default)))));

        var linked = Assert.Single(results, r => r.Result == IdentityLinkResult.Linked);
        Assert.All(results.Where(r => r.User == linked.User && r != linked), r => Assert.Equal(IdentityLinkResult.AlreadyLinked, r.Result));
        Assert.All(results.Where(r => r.User != linked.User), r => Assert.Equal(IdentityLinkResult.BelongsToAnotherUser, r.Result));
        Assert.Equal(linked.User, (await Store.FindUserAsync("github", "shared", default))!.Id);
    }

    [Fact]
    public async Task EmailHashesFindTheirUsersFollowChangesAndNeverKeepAStaleEntry()
    {
        var alice = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var bob = await Store.GetOrCreateUserAsync("main", "bob", Now, default);
        await Store.LinkIdentityAsync(alice.Id, "github", "a:1", Now, default);
        await Store.SetIdentityEmailHashAsync("main", "alice", "h-alice", default);
        await Store.SetIdentityEmailHashAsync("github", "a:1", "h-alice", default); // two identities, one user
        await Store.SetIdentityEmailHashAsync("main", "bob", "h-bob", default);
        await Store.SetIdentityEmailHashAsync("main", "nobody", "h-nobody", default); // unknown identity: nothing happens

        Assert.Equal([alice.Id], await Store.FindUsersByEmailHashAsync(["h-alice"], default));
        Assert.Equal([bob.Id], await Store.FindUsersByEmailHashAsync(["h-other", "h-bob"], default));
        Assert.Empty(await Store.FindUsersByEmailHashAsync(["h-nobody"], default));
        Assert.Empty(await Store.FindUsersByEmailHashAsync([], default));
        Assert.Null(await Store.FindUserAsync("main", "nobody", default));

        // bob's address changes to alice's: both users now, and nobody under bob's old one.
        await Store.SetIdentityEmailHashAsync("main", "bob", "h-alice", default);
        Assert.Equal(new[] { alice.Id, bob.Id }.Order(), (await Store.FindUsersByEmailHashAsync(["h-alice"], default)).Order());
        Assert.Empty(await Store.FindUsersByEmailHashAsync(["h-bob"], default));

        // Cleared (the provider no longer sends one): gone from the index; setting the same value twice changes nothing.
        await Store.SetIdentityEmailHashAsync("main", "bob", null, default);
        await Store.SetIdentityEmailHashAsync("main", "alice", "h-alice", default);
        Assert.Equal([alice.Id], await Store.FindUsersByEmailHashAsync(["h-alice", "h-bob"], default));
    }
}
