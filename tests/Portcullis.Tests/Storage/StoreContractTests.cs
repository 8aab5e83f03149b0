using Portcullis.Storage;

namespace Portcullis.Tests.Storage;

/// <summary>
/// The contract of <see cref="IPortcullisStore"/>: the same cases and assertions for every backend (one subclass each),
/// including the races several gateway nodes create. Times are based on the real clock, since Redis' TTLs follow it.
/// </summary>
public abstract class StoreContractTests : IAsyncLifetime
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    protected IPortcullisStore Store { get; private set; } = null!;

    protected DateTimeOffset Now { get; } = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    protected abstract Task<IPortcullisStore> CreateStoreAsync();

    public async Task InitializeAsync()
    {
        Store = await CreateStoreAsync();
        await Store.InitializeAsync(CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        (Store as IDisposable)?.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task InitializingTwiceKeepsEverything()
    {
        var user = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        await Store.InitializeAsync(default);
        Assert.Equal(user, await Store.FindUserAsync("main", "alice", default));
        Assert.True(await Store.IsHealthyAsync(default));
    }

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

    [Fact]
    public async Task SessionsAreFoundByKeyUntilTheyExpire()
    {
        var session = NewSession("k1", "u1", "g1", idle: Now + Hour, absolute: Now + 2 * Hour, sid: "sid-1");
        await Store.CreateSessionAsync(session, default);

        AssertSession(session, await Store.GetSessionAsync("k1", Now, default));
        Assert.Null(await Store.GetSessionAsync("k2", Now, default));
        Assert.Null(await Store.GetSessionAsync("k1", Now + Hour, default)); // idle timeout reached
        Assert.Null(await Store.GetSessionAsync("k1", Now + 2 * Hour, default));

        await Store.TouchSessionAsync("k1", Now + TimeSpan.FromMinutes(50), Now + TimeSpan.FromMinutes(110), default);
        var touched = await Store.GetSessionAsync("k1", Now + TimeSpan.FromMinutes(100), default);
        Assert.NotNull(touched);
        Assert.Equal(Now + TimeSpan.FromMinutes(50), touched.LastSeenAt);
        Assert.Null(await Store.GetSessionAsync("k1", Now + 2 * Hour, default)); // the absolute timeout still holds

        await Store.TouchSessionAsync("missing", Now, Now + Hour, default);
        Assert.Null(await Store.GetSessionAsync("missing", Now, default));

        Assert.True(await Store.DeleteSessionAsync("k1", default));
        Assert.False(await Store.DeleteSessionAsync("k1", default));
        Assert.Null(await Store.GetSessionAsync("k1", Now, default));
    }

    [Fact]
    public async Task ASessionIsReadTogetherWithItsOwnGrant()
    {
        var alice = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var bob = await Store.GetOrCreateUserAsync("main", "bob", Now, default);
        var aliceGrant = new GrantRecord("g1", alice.Id, "main", [1, 2, 3], Now + Hour, 1, Now, HasRefreshToken: true);
        var bobGrant = new GrantRecord("g2", bob.Id, "main", [4], null, 1, Now, HasRefreshToken: false);
        Assert.True(await Store.SaveGrantAsync(aliceGrant, 0, default));
        Assert.True(await Store.SaveGrantAsync(bobGrant, 0, default));
        var aliceSession = NewSession("k1", alice.Id, "g1", idle: Now + Hour, absolute: Now + 2 * Hour, sid: "sid-1");
        var bobSession = NewSession("k2", bob.Id, "g2", idle: Now + Hour, absolute: Now + Hour, sid: null);
        await Store.CreateSessionAsync(aliceSession, default);
        await Store.CreateSessionAsync(bobSession, default);

        var read = await Store.GetSessionAndGrantAsync("k1", Now, default);
        Assert.NotNull(read);
        AssertSession(aliceSession, read.Session);
        AssertGrant(aliceGrant, read.Grant);
        read = await Store.GetSessionAndGrantAsync("k2", Now, default);
        Assert.NotNull(read);
        AssertSession(bobSession, read.Session);
        AssertGrant(bobGrant, read.Grant);

        Assert.Null(await Store.GetSessionAndGrantAsync("missing", Now, default));
        Assert.Null(await Store.GetSessionAndGrantAsync("k1", Now + Hour, default)); // idle timeout reached

        // A refresh's new version is what the next read sees.
        var refreshed = aliceGrant with { Tokens = [5, 6], AccessTokenExpiresAt = Now + 2 * Hour, Version = 2, UpdatedAt = Now + TimeSpan.FromMinutes(1) };
        Assert.True(await Store.SaveGrantAsync(refreshed, 1, default));
        AssertGrant(refreshed, (await Store.GetSessionAndGrantAsync("k1", Now, default))?.Grant);

        // A session whose grant is gone still reads, with no grant: the caller decides it is not signed in.
        await Store.DeleteGrantAsync("g1", default);
        read = await Store.GetSessionAndGrantAsync("k1", Now, default);
        Assert.NotNull(read);
        AssertSession(aliceSession, read.Session);
        Assert.Null(read.Grant);

        Assert.True(await Store.DeleteSessionAsync("k1", default));
        Assert.Null(await Store.GetSessionAndGrantAsync("k1", Now, default));
        Assert.NotNull((await Store.GetSessionAndGrantAsync("k2", Now, default))?.Grant);
    }

    [Fact]
    public async Task ConcurrentSessionReadsEachGetTheirOwnSessionAndGrant()
    {
        for (var i = 0; i < 8; i++)
        {
            var user = await Store.GetOrCreateUserAsync("main", $"user-{i}", Now, default);
            Assert.True(await Store.SaveGrantAsync(new GrantRecord($"g{i}", user.Id, "main", [(byte)i], Now + Hour, 1, Now, true), 0, default));
            await Store.CreateSessionAsync(NewSession($"k{i}", user.Id, $"g{i}", Now + Hour, Now + Hour), default);
        }

        var reads = await Task.WhenAll(Enumerable.Range(0, 200).Select(n => Task.Run(async () => (n % 8, await Store.GetSessionAndGrantAsync($"k{n % 8}", Now, default)))));
        foreach (var (i, read) in reads)
        {
            Assert.Equal($"k{i}", read?.Session.Key);
            Assert.Equal($"g{i}", read?.Grant?.Id);
            Assert.Equal([(byte)i], read!.Grant!.Tokens);
        }
    }

    [Fact]
    public async Task SessionsWithoutAProviderSessionIdRoundTrip()
    {
        var session = NewSession("k1", "u1", "g1", Now + Hour, Now + Hour, sid: null);
        await Store.CreateSessionAsync(session, default);
        AssertSession(session, await Store.GetSessionAsync("k1", Now, default));
    }

    [Fact]
    public async Task LogOutEverywhereEndsEveryLiveSessionOfTheUserAndNoOtherUsers()
    {
        await Store.CreateSessionAsync(NewSession("a1", "alice", "ga", Now + Hour, Now + Hour, provider: "main"), default);
        await Store.CreateSessionAsync(NewSession("a2", "alice", "ga2", Now + Hour, Now + Hour, provider: "other"), default);
        await Store.CreateSessionAsync(NewSession("b1", "bob", "gb", Now + Hour, Now + Hour), default);

        Assert.Equal(1, await Store.DeleteSessionsForUserAsync("alice", "main", default));
        Assert.Null(await Store.GetSessionAsync("a1", Now, default));
        Assert.NotNull(await Store.GetSessionAsync("a2", Now, default));

        Assert.Equal(1, await Store.DeleteSessionsForUserAsync("alice", null, default));
        Assert.Null(await Store.GetSessionAsync("a2", Now, default));
        Assert.NotNull(await Store.GetSessionAsync("b1", Now, default));
        Assert.Equal(0, await Store.DeleteSessionsForUserAsync("alice", null, default));
    }

    [Fact]
    public async Task SessionsAreEndedByGrantAndByProviderSession()
    {
        await Store.CreateSessionAsync(NewSession("s1", "alice", "g1", Now + Hour, Now + Hour, sid: "sid-1"), default);
        await Store.CreateSessionAsync(NewSession("s2", "alice", "g1", Now + Hour, Now + Hour, sid: "sid-2"), default);
        await Store.CreateSessionAsync(NewSession("s3", "bob", "g2", Now + Hour, Now + Hour, sid: "sid-1", provider: "other"), default);

        Assert.Equal(2, await Store.CountSessionsForGrantAsync("g1", Now, default));
        Assert.Equal(0, await Store.CountSessionsForGrantAsync("g1", Now + Hour, default));

        Assert.Equal(1, await Store.DeleteSessionsForProviderSessionAsync("main", "sid-1", default));
        Assert.Null(await Store.GetSessionAsync("s1", Now, default));
        Assert.NotNull(await Store.GetSessionAsync("s3", Now, default)); // same sid, other provider

        Assert.Equal(1, await Store.DeleteSessionsForGrantAsync("g1", default));
        Assert.Null(await Store.GetSessionAsync("s2", Now, default));
        Assert.Equal(0, await Store.CountSessionsForGrantAsync("g1", Now, default));
        Assert.Equal(0, await Store.DeleteSessionsForProviderSessionAsync("main", "sid-2", default));
    }

    [Fact]
    public async Task AUsersSessionsAreListedNewestFirstAndEndedByHandleOnlyForThatUser()
    {
        await Store.CreateSessionAsync(NewSession("s1", "alice", "g1", Now + Hour, Now + Hour, created: Now), default);
        await Store.CreateSessionAsync(NewSession("s2", "alice", "g1", Now + Hour, Now + Hour, created: Now + TimeSpan.FromSeconds(1)), default);
        await Store.CreateSessionAsync(NewSession("s3", "alice", "g1", Now + TimeSpan.FromMinutes(1), Now + Hour, created: Now + TimeSpan.FromSeconds(2)), default);

        Assert.Equal(["s3", "s2", "s1"], (await Store.ListSessionsForUserAsync("alice", Now, default)).Select(s => s.Key));
        Assert.Equal(["s2", "s1"], (await Store.ListSessionsForUserAsync("alice", Now + TimeSpan.FromMinutes(2), default)).Select(s => s.Key));
        Assert.Empty(await Store.ListSessionsForUserAsync("bob", Now, default));

        Assert.False(await Store.DeleteSessionByHandleAsync("bob", "handle-s1", default));
        Assert.NotNull(await Store.GetSessionAsync("s1", Now, default));
        Assert.True(await Store.DeleteSessionByHandleAsync("alice", "handle-s1", default));
        Assert.Null(await Store.GetSessionAsync("s1", Now, default));
        Assert.False(await Store.DeleteSessionByHandleAsync("alice", "handle-s1", default));
    }

    [Fact]
    public async Task LoginTransactionsAreTakenOnceWithTheirBindingBeforeTheyExpire()
    {
        var transaction = new LoginTransactionRecord("t1", "browser-1", [1, 2], Now + TimeSpan.FromMinutes(10));
        await Store.SaveLoginTransactionAsync(transaction, 5, Now, default);

        Assert.Null(await Store.TakeLoginTransactionAsync("t1", "browser-2", Now, default)); // another browser
        Assert.Null(await Store.TakeLoginTransactionAsync("t1", "browser-1", Now + TimeSpan.FromMinutes(10), default)); // expired
        var taken = await Store.TakeLoginTransactionAsync("t1", "browser-1", Now, default);
        Assert.NotNull(taken);
        Assert.Equal(transaction.ExpiresAt, taken.ExpiresAt);
        Assert.Equal(transaction.Data, taken.Data);
        Assert.Equal("browser-1", taken.BindingHash);
        Assert.Null(await Store.TakeLoginTransactionAsync("t1", "browser-1", Now, default)); // single use
    }

    [Fact]
    public async Task OnlyTheNewestLoginTransactionsOfABrowserAreKept()
    {
        for (var i = 0; i < 5; i++)
        {
            await Store.SaveLoginTransactionAsync(new LoginTransactionRecord($"t{i}", "browser-1", [1], Now + Hour), 3, Now + TimeSpan.FromSeconds(i), default);
        }

        await Store.SaveLoginTransactionAsync(new LoginTransactionRecord("other", "browser-2", [1], Now + Hour), 3, Now, default);
        var kept = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            if (await Store.TakeLoginTransactionAsync($"t{i}", "browser-1", Now, default) is not null)
            {
                kept.Add($"t{i}");
            }
        }

        Assert.Equal(["t2", "t3", "t4"], kept);
        Assert.NotNull(await Store.TakeLoginTransactionAsync("other", "browser-2", Now, default));
    }

    [Fact]
    public async Task ConcurrentCallbacksWithTheSameStateTakeTheTransactionOnce()
    {
        await Store.SaveLoginTransactionAsync(new LoginTransactionRecord("t1", "b", [1], Now + Hour), 5, Now, default);
        var taken = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => Task.Run(() => Store.TakeLoginTransactionAsync("t1", "b", Now, default))));
        Assert.Single(taken.OfType<LoginTransactionRecord>());
    }

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

    [Fact]
    public async Task TheAuditLogIsQueriedNewestFirstWithFilters()
    {
        await Store.AppendAuditAsync(new AuditRecord(0, Now, "login", "success", "alice", "main", "h1"), default);
        await Store.AppendAuditAsync(new AuditRecord(0, Now + TimeSpan.FromSeconds(1), "refresh", "success", "alice", "main", Detail: "rotated"), default);
        await Store.AppendAuditAsync(new AuditRecord(0, Now + TimeSpan.FromSeconds(2), "login", "failed", "bob", Actor: "worker"), default);

        var all = await Store.QueryAuditAsync(new AuditQuery(), default);
        Assert.Equal(["failed", "success", "success"], all.Select(e => e.Outcome));
        Assert.Equal("login", all[2].Event);
        Assert.Equal(("alice", "main", "h1", null, null), (all[2].UserId, all[2].Provider, all[2].SessionHandle, all[2].Actor, all[2].Detail));
        Assert.Equal(Now, all[2].At);
        Assert.True(all[0].Id > all[1].Id && all[1].Id > all[2].Id);
        Assert.Equal(("bob", null, "worker"), (all[0].UserId, all[0].Provider, all[0].Actor));

        Assert.Equal(["refresh", "login"], (await Store.QueryAuditAsync(new AuditQuery(UserId: "alice"), default)).Select(e => e.Event));
        Assert.Equal(["bob", "alice"], (await Store.QueryAuditAsync(new AuditQuery(Event: "login"), default)).Select(e => e.UserId));
        Assert.Equal(2, (await Store.QueryAuditAsync(new AuditQuery(Since: Now + TimeSpan.FromSeconds(1)), default)).Count);
        Assert.Single(await Store.QueryAuditAsync(new AuditQuery(Limit: 1), default));
    }

    [Fact]
    public async Task CleanupRemovesWhatExpiredAndKeepsWhatIsStillUsable()
    {
        var user = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var second = TimeSpan.FromSeconds(1);
        await Store.CreateSessionAsync(NewSession("expired", user.Id, "g-live", Now + second, Now + Hour), default);
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

        var removed = await Store.DeleteExpiredAsync(Now + 2 * second, Now - TimeSpan.FromMinutes(1), default);

        // Redis may already have dropped the expired session by its own TTL, so the count is only a lower bound;
        // the checks below are the contract.
        Assert.True(removed >= 3, $"removed {removed}");
        Assert.Null(await Store.GetSessionAsync("expired", Now, default)); // gone, not merely filtered
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

    private SessionRecord NewSession(
        string key, string user, string grant, DateTimeOffset idle, DateTimeOffset absolute, string? sid = null, string provider = "main", DateTimeOffset? created = null) =>
        new(key, "handle-" + key, user, grant, provider, sid, [7, 8, 9], created ?? Now, created ?? Now, idle, absolute);

    private static void AssertGrant(GrantRecord expected, GrantRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { Tokens = [] }, actual with { Tokens = [] });
        Assert.Equal(expected.Tokens, actual.Tokens);
    }

    private static void AssertSession(SessionRecord expected, SessionRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { Data = [] }, actual with { Data = [] });
        Assert.Equal(expected.Data, actual.Data);
    }
}
