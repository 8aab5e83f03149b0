using Portcullis.Storage;

namespace Portcullis.Tests.Storage.Contracts;

/// <summary>The contract of sessions, and the one-round-trip read of a session with its grant (<see cref="ISessionStore"/>, ADR 0017).</summary>
public abstract class SessionStoreContractTests<TStore> : StoreContractTests<TStore>
    where TStore : class, IStoreLifecycle, ISessionStore, IGrantStore, IUserStore
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

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
    public async Task UnusedGrantsAreThoseNoLiveSessionUsesWrittenBeforeTheGraceAndNotOfflineUnlessAsked()
    {
        // ADR 0027: what the sweep ends. g1 has a live session, g2's session expired, g3 never had one but was written
        // just now (a login between saving its grant and its session), g4 is the offline grant, g5 has no session at all.
        var alice = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var old = Now - Hour;
        foreach (var (id, updated, offline) in new[] { ("g1", old, false), ("g2", old, false), ("g3", Now, false), ("g4", old, true), ("g5", old, false) })
        {
            Assert.True(await Store.SaveGrantAsync(new GrantRecord(id, alice.Id, "main", [1], Now + Hour, 1, updated, HasRefreshToken: true, Offline: offline), 0, default));
        }

        await Store.CreateSessionAsync(NewSession("k1", alice.Id, "g1", idle: Now + Hour, absolute: Now + 2 * Hour, sid: null), default);
        await Store.CreateSessionAsync(NewSession("k2", alice.Id, "g2", idle: Now + Hour, absolute: Now + 2 * Hour, sid: null), default);
        var later = Now + 2 * Hour; // k1 and k2 expired by then; at Now both are live
        await Store.CreateSessionAsync(NewSession("k3", alice.Id, "g1", idle: later + Hour, absolute: later + Hour, sid: null), default);

        static string[] Ids(IReadOnlyList<GrantRecord> grants) => grants.Select(g => g.Id).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["g5"], Ids(await Store.ListUnusedGrantsAsync(Now, Now - TimeSpan.FromMinutes(5), includeOffline: false, 10, default)));
        Assert.Equal(["g2", "g5"], Ids(await Store.ListUnusedGrantsAsync(later, Now - TimeSpan.FromMinutes(5), includeOffline: false, 10, default)));
        Assert.Equal(["g2", "g4", "g5"], Ids(await Store.ListUnusedGrantsAsync(later, Now - TimeSpan.FromMinutes(5), includeOffline: true, 10, default)));
        Assert.Single(await Store.ListUnusedGrantsAsync(later, Now - TimeSpan.FromMinutes(5), includeOffline: true, 1, default));
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
    public async Task ASessionKeyedGrantKeepsItsMarkThroughEveryReadAndUpdateAndIsSweptLikeAnyOther()
    {
        // ADR 0032: the mark tells the gateway a grant opens only with its session's cookie key; losing it on any path
        // would have the key ring try (and fail) to open it, and a refresh write must not clear it.
        var alice = await Store.GetOrCreateUserAsync("main", "alice", Now, default);
        var keyed = new GrantRecord("g1", alice.Id, "main", [1, 2], Now + Hour, 1, Now - Hour, HasRefreshToken: true, SessionKeyed: true);
        var plain = new GrantRecord("g2", alice.Id, "main", [3], Now + Hour, 1, Now - Hour, HasRefreshToken: true);
        Assert.True(await Store.SaveGrantAsync(keyed, 0, default));
        Assert.True(await Store.SaveGrantAsync(plain, 0, default));
        var session = NewSession("k1", alice.Id, "g1", idle: Now + Hour, absolute: Now + 2 * Hour, sid: "sid-1");
        await Store.CreateSessionAsync(session, default);

        AssertGrant(keyed, await Store.GetGrantAsync("g1", default));
        AssertGrant(plain, await Store.GetGrantAsync("g2", default));
        AssertGrant(keyed, (await Store.GetSessionAndGrantAsync("k1", Now, default))?.Grant);
        var refreshed = keyed with { Tokens = [4], Version = 2, UpdatedAt = Now - TimeSpan.FromMinutes(30) };
        Assert.True(await Store.SaveGrantAsync(refreshed, 1, default));
        Assert.True((await Store.GetGrantAsync("g1", default))?.SessionKeyed);
        Assert.Null(await Store.FindGrantAsync(alice.Id, "main", default)); // never an offline grant

        var later = Now + 3 * Hour; // the session has expired: the sweep lists the grant, still marked
        var unused = await Store.ListUnusedGrantsAsync(later, Now, includeOffline: false, 10, default);
        Assert.Equal(new[] { ("g1", true), ("g2", false) }, unused.Select(g => (g.Id, g.SessionKeyed)).OrderBy(g => g.Id, StringComparer.Ordinal).ToArray());
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
}
