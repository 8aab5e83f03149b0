using System.Net;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Sessions;

/// <summary>
/// The per-node session cache, on by default (ADR 0040, after ADR 0017): every way this node ends a session or changes a
/// grant takes effect at once, whatever the cache holds; a change made by another process sharing the SQLite file is
/// seen within a few polls of the file's commit counter. (Across nodes sharing PostgreSQL or Redis:
/// <c>CrossNodeInvalidationTests</c>.)
/// </summary>
public sealed class SessionCacheTests
{
    private const string CookieName = "__Host-portcullis";

    [Fact]
    public async Task EveryWayThisNodeEndsASessionTakesEffectAtOnceThoughTheSessionWasCached()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: WithCache("00:01:00", upstream.Url));
        using var laptop = new BrowserClient();
        using var phone = new BrowserClient();
        using var tablet = new BrowserClient();
        using var bob = new BrowserClient();
        await laptop.LoginAsync(stack.Origin, "alice");
        await phone.LoginAsync(stack.Origin, "alice");
        await tablet.LoginAsync(stack.Origin, "alice");
        await bob.LoginAsync(stack.Origin, "bob");
        var cookies = new[] { laptop, phone, tablet, bob }.Select(b => b.CookiesFor("localhost")[CookieName]).ToArray();
        foreach (var cookie in cookies)
        {
            Assert.Equal(HttpStatusCode.OK, await CallAsync(stack, cookie)); // now in the cache
        }

        // Logout: the old cookie value is refused at once (SECURITY.md item 5), not a minute later.
        Assert.Equal(HttpStatusCode.OK, (await laptop.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(stack, cookies[0]));

        // Ending one session by its handle from another.
        var phoneHandle = (await phone.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Body;
        var handle = System.Text.Json.JsonDocument.Parse(phoneHandle).RootElement.GetProperty("session").GetProperty("handle").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await tablet.SendAsync(HttpMethod.Delete, $"{stack.Origin}/bff/sessions/{handle}", null, BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(stack, cookies[1]));

        // The provider's back-channel logout of alice ends her last session; bob's cached session is untouched.
        Assert.Equal(HttpStatusCode.OK, await CallAsync(stack, cookies[2]));
        await stack.Idp.SendBackchannelLogoutAsync("alice");
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(stack, cookies[2]));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(stack, cookies[3]));
    }

    [Fact]
    public async Task ARevokedGrantEndsTheCachedSessionAtTheFirstRefusedRefresh()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 2, clock: clock, adjust: WithCache("00:01:00", upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin, "alice");
        var cookie = browser.CookiesFor("localhost")[CookieName];
        Assert.Equal(HttpStatusCode.OK, await CallAsync(stack, cookie));

        await stack.Idp.RevokeGrantAsync("alice");
        clock.Advance(TimeSpan.FromSeconds(2.5)); // the cached access token is now due (the cache itself lasts a minute)

        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(stack, cookie));
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(stack, cookie)); // and stays refused: the copy went too
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions"));
    }

    [Fact]
    public async Task ARefreshOnThisNodeIsUsedAtOnceAndNotPinnedToTheCachedToken()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 3, clock: clock, adjust: WithCache("00:01:00", upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin, "alice");
        var cookie = browser.CookiesFor("localhost")[CookieName];

        Assert.Equal(HttpStatusCode.OK, await CallAsync(stack, cookie));
        var first = LastBearer(upstream);
        clock.Advance(TimeSpan.FromSeconds(3.5)); // past the token's due time, within the cache duration
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await CallAsync(stack, cookie));
        }

        var refreshed = LastBearer(upstream);
        Assert.NotEqual(first, refreshed);
        Assert.True(await stack.Idp.IsActiveAsync(refreshed));
        // One refresh for the five calls: the copy was replaced by the refreshed grant, not refreshed again and again.
        Assert.Single(await stack.Idp.EventsAsync("token"), e => e.GetProperty("grant_type").GetString() == "refresh_token");
    }

    [Fact]
    public async Task ASessionEndedByAnotherProcessSharingTheSqliteFileIsRefusedWithinAFewPollsWithTheDefaultCache()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var byDefault = await TestStack.StartAsync(adjust: TestStack.OrdersRoute(upstream.Url));
        await using var uncached = await TestStack.StartAsync(adjust: WithCache("00:00:00", upstream.Url));
        foreach (var stack in new[] { byDefault, uncached })
        {
            using var browser = new BrowserClient();
            await browser.LoginAsync(stack.Origin, "alice");
            var cookie = browser.CookiesFor("localhost")[CookieName];
            Assert.Equal(HttpStatusCode.OK, await CallAsync(stack, cookie));
            Assert.Equal(HttpStatusCode.OK, await CallAsync(stack, cookie));

            // What a second process on the same file does (another gateway, an administration command): its commit moves
            // PRAGMA data_version, which the cache polls every 25 ms (ADR 0040).
            await SqliteRows.ExecuteAsync(stack.Gateway.DataDirectory, "DELETE FROM sessions");
            var ended = TimeProvider.System.GetTimestamp();

            await Eventually.Until(() => CallAsync(stack, cookie), status => status == HttpStatusCode.Unauthorized, "the ended session is refused", TimeSpan.FromSeconds(10));
            var waited = TimeProvider.System.GetElapsedTime(ended);
            // A few polls, sized for a loaded 2-core machine; the time-based bound (30 s by default) is far above it.
            Assert.True(waited < TimeSpan.FromSeconds(1), $"refused only after {waited}");
        }
    }

    private static Action<Dictionary<string, string?>> WithCache(string duration, string upstreamUrl) => settings =>
    {
        TestStack.OrdersRoute(upstreamUrl)(settings);
        settings["Portcullis:Session:CacheDuration"] = duration;
    };

    private static async Task<HttpStatusCode> CallAsync(TestStack stack, string cookie)
    {
        using var caller = new BrowserClient();
        caller.CookiesFor("localhost")[CookieName] = cookie;
        return (await caller.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status;
    }

    private static string LastBearer(RecordingUpstream upstream) =>
        upstream.Requests.Last().Headers["Authorization"]["Bearer ".Length..];
}
