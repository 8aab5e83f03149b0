using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.ScaleOut;

namespace Portcullis.Tests.Faults;

/// <summary>
/// The refresh lease under faults (issue 14 item 3, ADR 0022): renewed while a slow token request runs, so a second node
/// sharing the store never presents the same refresh token; and a refreshed grant the store cannot take right now is
/// kept on the node, used, and saved once the store is back. Real oidc-provider with refresh-token rotation, real stores,
/// the gateways on one fake clock.
/// </summary>
public sealed class LeaseFaultTests
{
    // Tokens live 120 s, due after 60 s; requests wait 1.5 × 1 s; the token request may take the default 30 s; the lease
    // lasts the default 15 s and is renewed every 5 s.
    private static readonly TimeSpan PastTheRefreshPoint = TimeSpan.FromSeconds(61);

    [Fact]
    public async Task TheLeaseIsRenewedWhileTheProviderHoldsTheRefreshPastItAndASecondNodeDoesNotPresentTheRefreshToken()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var idpPort = FreePort.Next();
        await using var wire = FaultProxy.Start(idpPort);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await StartAsync(upstream, clock, idpPort, wire.Port);
        // A second node on the same SQLite file (and so the same lease table) and the same clock.
        var portB = FreePort.Next();
        await using var nodeB = await GatewayHost.StartAsync(stack.Settings, portB, stack.Gateway.DataDirectory, clock: clock);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        clock.Advance(PastTheRefreshPoint);

        wire.Fault = Fault.Hold;
        var during = await UntilAnsweredAsync(clock, browser.GetAsync($"{stack.Origin}/api/orders/during", BrowserClient.Csrf));
        await wire.WaitUntilHeldAsync();
        // The token request stays on the wire for 20 s of the gateways' clock, past the 15 s lease: only renewal keeps it.
        for (var second = 0; second < 20; second++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(TimeSpan.FromMilliseconds(50)); // polling: lets the renewal reach the store
        }

        var lease = Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT expires_at FROM leases"));
        Assert.True((long)lease[0]! > clock.GetUtcNow().ToUnixTimeMilliseconds(), "the holder renewed its lease");
        var onB = await UntilAnsweredAsync(clock, browser.GetAsync($"http://localhost:{portB}/api/orders/on-b", BrowserClient.Csrf));
        Assert.Equal(1, wire.Held); // node B sent nothing: the lease was held

        wire.Fault = Fault.None;
        wire.ReleaseHeld();
        await Eventually.Until(() => RefreshEventsAsync(stack.Idp), events => events.Length > 0, "the provider to handle the refresh");
        // The gateways wait on their (fake) clock: for a lease poll, or for a save retry when a loaded machine made the
        // first save of the refreshed grant fail. Moving the clock while a request is pending lets those waits end, as
        // real time would; without it a request on node A hung until the client gave up (ci19).
        var afterA = await Eventually.Until(
            () => UntilAnsweredAsync(clock, browser.GetAsync($"{stack.Origin}/api/orders/after-a", BrowserClient.Csrf)),
            r => r.Status == HttpStatusCode.OK,
            "node A to use the refresh");
        var afterB = await UntilAnsweredAsync(clock, browser.GetAsync($"http://localhost:{portB}/api/orders/after-b", BrowserClient.Csrf));

        AssertRetryLater(during, "provider_unavailable");
        AssertRetryLater(onB, "provider_unavailable");
        Assert.Equal(HttpStatusCode.OK, afterA.Status);
        Assert.Equal(HttpStatusCode.OK, afterB.Status);
        await AssertOneRefreshAndItsTokensInUseAsync(stack.Idp, upstream);
    }

    internal static Task<TestStack> StartAsync(
        RecordingUpstream upstream, FakeTimeProvider clock, int idpPort, int issuerPort, IReadOnlyDictionary<string, string?>? store = null) =>
        TestStack.StartAsync(
            clock: clock,
            adjust: s =>
            {
                TestStack.OrdersRoute(upstream.Url)(s);
                s["Portcullis:Refresh:Timeout"] = "00:00:01";
                foreach (var (key, value) in store ?? new Dictionary<string, string?>())
                {
                    s[key] = value;
                }
            },
            idpPort: idpPort,
            issuerPort: issuerPort);

    /// <summary>Moves the gateways' clock on until the caller gives up waiting for a refresh (1.5 s), never as far as
    /// the token request's own deadline: at most 10 s of the fake clock, over up to 30 s of real time, so a loaded
    /// two-core machine's threads get to see each step.</summary>
    internal static async Task<T> UntilAnsweredAsync<T>(FakeTimeProvider clock, Task<T> pending)
    {
        var moved = TimeSpan.Zero;
        for (var polls = 0; !pending.IsCompleted && polls < 600; polls++)
        {
            if (moved < TimeSpan.FromSeconds(10))
            {
                clock.Advance(TimeSpan.FromMilliseconds(250));
                moved += TimeSpan.FromMilliseconds(250);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50)); // polling: let the gateway's threads see the new time
        }

        return await pending;
    }

    /// <summary>Moves the gateway's clock on, in the background save's retry steps, until it logs that the refreshed
    /// grant was saved (at most 50 s of that clock).</summary>
    internal static async Task UntilTheBackgroundSaveLandsAsync(FakeTimeProvider clock, GatewayHost gateway)
    {
        for (var moved = 0; moved < 100 && !gateway.Logs.All.Contains("saved after", StringComparison.Ordinal); moved++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(TimeSpan.FromMilliseconds(50)); // polling: lets the background save reach the store
        }
    }

    internal static void AssertRetryLater(RecordedResponse response, string error)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.Status);
        Assert.Contains($"\"error\":\"{error}\"", response.Body);
        Assert.True(int.Parse(response.Headers["Retry-After"]) > 0);
    }

    internal static async Task<JsonElement[]> RefreshEventsAsync(TestIdp idp) =>
        (await idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "refresh_token").ToArray();

    /// <summary>One refresh token presented, once, accepted (no <c>invalid_grant</c>); the rotated tokens are in use and active.</summary>
    internal static async Task AssertOneRefreshAndItsTokensInUseAsync(TestIdp idp, RecordingUpstream upstream)
    {
        Assert.Equal("success", Assert.Single(await RefreshEventsAsync(idp)).GetProperty("outcome").GetString());
        var refreshed = (await idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.Equal($"Bearer {refreshed.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.True(await idp.IsActiveAsync(refreshed.RefreshToken!));
    }
}

/// <summary>The store goes down just as a refreshed grant is to be saved (it restarts PostgreSQL, so it runs alone).</summary>
[Collection(RunsAloneCollection.Name)]
public sealed class StoreOutageDuringRefreshTests
{
    [Fact]
    public async Task ARefreshedGrantTheStoreCannotTakeIsUsedByItsNodeAndSavedWhenTheStoreIsBack()
    {
        // The token request is on the wire when PostgreSQL stops; its answer arrives with the store down.
        await using var held = await HeldRefresh.StartAsync("postgres");
        var (upstream, wire, clock, stack, browser, during) = (held.Upstream, held.Wire, held.Clock, held.Stack, held.Browser, held.During);
        RecordedResponse storeDown;
        try
        {
            await TestServices.RunAsync("stop-postgres");
            wire.Fault = Fault.None;
            wire.ReleaseHeld();
            await Eventually.Until(() => Task.FromResult(stack.Gateway.Logs.All), logs => logs.Contains("could not be saved", StringComparison.Ordinal), "the save to fail");
            storeDown = await browser.GetAsync($"{stack.Origin}/api/orders/store-down", BrowserClient.Csrf);
        }
        finally
        {
            await TestServices.RunAsync("start-postgres");
        }

        // The store is back, the background save has not run yet (it waits on the gateway's clock): the node uses the
        // refreshed grant it keeps, not the version the store still has.
        var back = await Eventually.Until(
            () => browser.GetAsync($"{stack.Origin}/api/orders/back", BrowserClient.Csrf), r => r.Status == HttpStatusCode.OK, "the store to be back");
        var refreshed = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.Equal($"Bearer {refreshed.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.DoesNotContain("saved after", stack.Gateway.Logs.All);

        await LeaseFaultTests.UntilTheBackgroundSaveLandsAsync(clock, stack.Gateway);

        // The grant landed: a second node, which never saw the refresh, reads it from the store.
        var portB = FreePort.Next();
        await using var nodeB = await GatewayHost.StartAsync(stack.Settings, portB, stack.Gateway.DataDirectory, clock: clock);
        var onB = await browser.GetAsync($"http://localhost:{portB}/api/orders/on-b", BrowserClient.Csrf);

        LeaseFaultTests.AssertRetryLater(during, "provider_unavailable");
        LeaseFaultTests.AssertRetryLater(storeDown, "store_unavailable");
        Assert.Equal(HttpStatusCode.OK, back.Status);
        Assert.Contains("saved after", stack.Gateway.Logs.All);
        Assert.Equal(HttpStatusCode.OK, onB.Status);
        await LeaseFaultTests.AssertOneRefreshAndItsTokensInUseAsync(stack.Idp, upstream);
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All + nodeB.Logs.All));
    }

    /// <summary>
    /// The store answers, but refuses the write of the refreshed grant: Redis without the replicas its
    /// <c>min-replicas-to-write</c> asks for (NOREPLICAS, as during a failover), an error the store does not class as
    /// "unavailable" before this fix. The refresh token is spent all the same: the node keeps the refreshed grant, uses
    /// it, and saves it once writes are taken again. Before, the save's exception reached the caller as a 500 and the
    /// rotated tokens were dropped; the next refresh presented the spent token.
    /// </summary>
    [Fact]
    public async Task ARefreshedGrantWhoseWriteTheStoreRefusesIsKeptUsedAndSavedOnceWritesAreTakenAgain()
    {
        await using var held = await HeldRefresh.StartAsync("redis");
        var (upstream, wire, clock, stack, browser, during) = (held.Upstream, held.Wire, held.Clock, held.Stack, held.Browser, held.During);
        using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServices.RedisConfiguration + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints().Single());
        RecordedResponse refused;
        try
        {
            await server.ConfigSetAsync("min-replicas-to-write", "1");
            wire.Fault = Fault.None;
            wire.ReleaseHeld();
            await Eventually.Until(() => Task.FromResult(stack.Gateway.Logs.All), logs => logs.Contains("could not be saved", StringComparison.Ordinal), "the save to fail");
            refused = await browser.GetAsync($"{stack.Origin}/api/orders/writes-refused", BrowserClient.Csrf);
        }
        finally
        {
            await server.ConfigSetAsync("min-replicas-to-write", "0");
        }

        await LeaseFaultTests.UntilTheBackgroundSaveLandsAsync(clock, stack.Gateway);
        var portB = FreePort.Next();
        await using var nodeB = await GatewayHost.StartAsync(stack.Settings, portB, stack.Gateway.DataDirectory, clock: clock);
        var onB = await browser.GetAsync($"http://localhost:{portB}/api/orders/on-b", BrowserClient.Csrf);

        LeaseFaultTests.AssertRetryLater(during, "provider_unavailable");
        Assert.Contains("could not be saved (RedisServerException)", stack.Gateway.Logs.All);
        Assert.Equal(HttpStatusCode.OK, refused.Status);
        Assert.Equal(HttpStatusCode.OK, onB.Status);
        await LeaseFaultTests.AssertOneRefreshAndItsTokensInUseAsync(stack.Idp, upstream);
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All + nodeB.Logs.All));
        // The audit record of the refresh could not be written either, and says so; nothing else is an error.
        Assert.DoesNotContain(stack.Gateway.Logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal) && !l.Contains("AuditLog[1402]", StringComparison.Ordinal));
    }

    /// <summary>
    /// A signed-in browser on one gateway over a store of <c>storeKind</c>, its access token due, the refresh's token
    /// request held on the provider's wire; <see cref="During"/> is the caller's answer meanwhile.
    /// </summary>
    internal sealed class HeldRefresh : IAsyncDisposable
    {
        public required RecordingUpstream Upstream { get; init; }

        public required FaultProxy Wire { get; init; }

        public required FakeTimeProvider Clock { get; init; }

        public required TestStack Stack { get; init; }

        public required BrowserClient Browser { get; init; }

        public required RecordedResponse During { get; init; }

        public static async Task<HeldRefresh> StartAsync(string storeKind)
        {
            var upstream = await RecordingUpstream.StartAsync();
            var idpPort = FreePort.Next();
            var wire = FaultProxy.Start(idpPort);
            var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
            var stack = await LeaseFaultTests.StartAsync(upstream, clock, idpPort, wire.Port, await GatewayCluster.StoreSettingsAsync(storeKind));
            var browser = new BrowserClient();
            await browser.LoginAsync(stack.Origin);
            clock.Advance(TimeSpan.FromSeconds(61));
            wire.Fault = Fault.Hold;
            var during = await LeaseFaultTests.UntilAnsweredAsync(clock, browser.GetAsync($"{stack.Origin}/api/orders/during", BrowserClient.Csrf));
            await wire.WaitUntilHeldAsync();
            return new HeldRefresh { Upstream = upstream, Wire = wire, Clock = clock, Stack = stack, Browser = browser, During = during };
        }

        public async ValueTask DisposeAsync()
        {
            Browser.Dispose();
            await Stack.DisposeAsync();
            await Wire.DisposeAsync();
            await Upstream.DisposeAsync();
        }
    }
}

/// <summary>A logout that meets a refresh in flight.</summary>
public sealed class LogoutDuringRefreshTests
{
    /// <summary>
    /// The user logs out (another tab) while a refresh's token request is out: the logout ends the grant and revokes the
    /// refresh token it found, which the refresh has spent. When the provider answers, the grant is gone and the rotated
    /// refresh token cannot be saved; it is revoked too, instead of being dropped alive (invariant: a refresh's answer is
    /// never thrown away). Before, nothing revoked it: a provider that revokes only the token it is given left it usable.
    /// </summary>
    [Fact]
    public async Task ARefreshAnsweredAfterTheUserLoggedOutHasItsRotatedRefreshTokenRevoked()
    {
        await using var held = await StoreOutageDuringRefreshTests.HeldRefresh.StartAsync("postgres");
        var (wire, clock, stack, browser) = (held.Wire, held.Clock, held.Stack, held.Browser);
        var loginRefreshToken = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "authorization_code").RefreshToken!;

        var logout = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);
        // The logout's revocation of the grant's refresh token is held behind the token request; the provider gets the
        // token request first (the other order is no race at all: the refresh would meet a revoked grant).
        await wire.WaitUntilHeldAsync(2);
        wire.ReleaseOldestHeld();
        var rotated = (await Eventually.Until(
            async () => (await stack.Idp.TokensAsync()).Where(t => t.GrantType == "refresh_token").ToArray(), t => t.Length == 1, "the held refresh to be answered")).Single().RefreshToken!;
        wire.Fault = Fault.None;
        wire.ReleaseHeld();
        var revoked = await RevokedTokensAsync(stack.Idp);
        for (var step = 0; step < 200 && !revoked.Contains(rotated); step++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(500)); // the revocation queue's retries run on the gateway's clock
            await Task.Delay(TimeSpan.FromMilliseconds(50));
            revoked = await RevokedTokensAsync(stack.Idp);
        }

        Assert.Equal(HttpStatusCode.OK, logout.Status);
        Assert.NotEqual(loginRefreshToken, rotated);
        Assert.Contains(rotated, revoked);
        Assert.False(await stack.Idp.IsActiveAsync(rotated));
        Assert.Contains("answered after the grant ended", stack.Gateway.Logs.All);
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All));
    }

    private static async Task<string?[]> RevokedTokensAsync(TestIdp idp) =>
        (await idp.EventsAsync("revocation")).Select(e => e.GetProperty("token").GetString()).ToArray();
}
