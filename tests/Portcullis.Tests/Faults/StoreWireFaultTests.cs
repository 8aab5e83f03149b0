using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.ScaleOut;

namespace Portcullis.Tests.Faults;

/// <summary>
/// Faults on the wire between the gateway and its shared store (issue 14 item 5): a fault proxy in front of the real
/// PostgreSQL or Redis adds latency, holds statements and delivers them late, resets connections after the store
/// handled the command, or swallows everything. The gateway must answer 503 <c>store_unavailable</c> with
/// <c>Retry-After</c> within seconds (never 500, never 401), and every session must work afterwards without a new login,
/// with no refresh token presented twice.
/// </summary>
public sealed class StoreWireFaultTests
{
    // Tokens live 120 s on the gateway's fake clock and are due after 60 s; store timeouts run on real time. A hung
    // PostgreSQL answers within command + 2 × connect timeout (5 + 2 × 15 s), a hung Redis within its 5 s async
    // timeout; the bound leaves room for a loaded 2-core machine.
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(45);

    [Theory]
    [InlineData("postgres", Fault.Latency)]
    [InlineData("postgres", Fault.Hold)]
    [InlineData("postgres", Fault.ResetAfterSend)]
    [InlineData("postgres", Fault.BlackHole)]
    [InlineData("redis", Fault.Latency)]
    [InlineData("redis", Fault.Hold)]
    [InlineData("redis", Fault.ResetAfterSend)]
    [InlineData("redis", Fault.BlackHole)]
    public async Task AFaultOnTheStoreWireGets503WithinSecondsAndLosesNoSession(string storeKind, Fault fault)
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var (store, storeWire) = await StoreBehindFaultProxyAsync(storeKind);
        await using var _ = storeWire;
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // The session cache off: the call during the fault must reach the store to meet it. With the cache on, a copy
        // answers it until the change feed on the same wire is found broken (ADR 0040).
        await using var stack = await StartAsync(upstream, clock, store, cacheOff: true);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/before", BrowserClient.Csrf)).Status);

        storeWire.Latency = TimeSpan.FromMilliseconds(100);
        storeWire.Fault = fault;
        var during = new List<(RecordedResponse Response, TimeSpan Took)>();
        try
        {
            for (var i = 0; i < 1; i++)
            {
                var watch = Stopwatch.StartNew();
                during.Add((await browser.GetAsync($"{stack.Origin}/api/orders/during-{i}", BrowserClient.Csrf), watch.Elapsed));
            }
        }
        finally
        {
            storeWire.Fault = Fault.None;
            storeWire.ReleaseHeld();
        }

        var healed = await Eventually.Until(
            () => browser.GetAsync($"{stack.Origin}/api/orders/healed", BrowserClient.Csrf), r => r.Status == HttpStatusCode.OK, "the store wire to heal");
        // The next refresh goes through the healed store: one refresh token presented, once. The clock stands still while
        // it runs: moving it on would let the 1 s refresh timeout (gateway clock) fire on a loaded machine while the
        // healthy provider and store are still answering in real time.
        clock.Advance(TimeSpan.FromSeconds(61));
        var refreshed = await browser.GetAsync($"{stack.Origin}/api/orders/refreshed", BrowserClient.Csrf);

        foreach (var (response, took) in during)
        {
            Assert.True(took < AnswerBound, $"answered after {took}");
            if (fault == Fault.Latency)
            {
                Assert.Equal(HttpStatusCode.OK, response.Status); // slower, not failed
            }
            else
            {
                LeaseFaultTests.AssertRetryLater(response, "store_unavailable");
            }
        }

        Assert.Equal(HttpStatusCode.OK, healed.Status);
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);
        Assert.Equal(cookie, browser.CookiesFor("localhost")["__Host-portcullis"]);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        await LeaseFaultTests.AssertOneRefreshAndItsTokensInUseAsync(stack.Idp, upstream);
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All));
    }

    /// <summary>
    /// The provider answers a refresh and the statement that saves the rotated tokens hangs on the store wire: the
    /// gateway gives up on it, keeps the grant in memory and retries, while the held statement reaches the store late.
    /// Whichever lands, the rotated tokens are the ones in use on this node and on a second one, and the provider saw
    /// its refresh token presented once.
    /// </summary>
    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task ARefreshedGrantsSaveHeldOnTheStoreWireAndDeliveredLateLosesNothing(string storeKind)
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var (store, storeWire) = await StoreBehindFaultProxyAsync(storeKind);
        await using var _ = storeWire;
        var idpPort = FreePort.Next();
        await using var idpWire = FaultProxy.Start(idpPort);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await LeaseFaultTests.StartAsync(upstream, clock, idpPort, idpWire.Port, store);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        clock.Advance(TimeSpan.FromSeconds(61));

        // The token request waits on the provider's wire; the store's wire starts holding before its answer comes.
        idpWire.Fault = Fault.Hold;
        var during = await LeaseFaultTests.UntilAnsweredAsync(clock, browser.GetAsync($"{stack.Origin}/api/orders/during", BrowserClient.Csrf));
        await idpWire.WaitUntilHeldAsync();
        try
        {
            storeWire.Fault = Fault.Hold;
            idpWire.Fault = Fault.None;
            idpWire.ReleaseHeld();
            await Eventually.Until(() => Task.FromResult(stack.Gateway.Logs.All), logs => logs.Contains("could not be saved", StringComparison.Ordinal), "the save to time out", AnswerBound);
        }
        finally
        {
            // The held statements reach the store now, long after the gateway stopped waiting for them.
            storeWire.Fault = Fault.None;
            storeWire.ReleaseHeld();
        }

        await LeaseFaultTests.UntilTheBackgroundSaveLandsAsync(clock, stack.Gateway);

        var after = await Eventually.Until(
            () => browser.GetAsync($"{stack.Origin}/api/orders/after", BrowserClient.Csrf), r => r.Status == HttpStatusCode.OK, "the store wire to heal");
        var portB = FreePort.Next();
        await using var nodeB = await GatewayHost.StartAsync(stack.Settings, portB, stack.Gateway.DataDirectory, clock: clock);
        var onB = await browser.GetAsync($"http://localhost:{portB}/api/orders/on-b", BrowserClient.Csrf);

        LeaseFaultTests.AssertRetryLater(during, "provider_unavailable");
        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.Contains("saved after", stack.Gateway.Logs.All); // landed, whether by the late statement or a retry
        Assert.DoesNotContain("were not saved", stack.Gateway.Logs.All);
        Assert.Equal(HttpStatusCode.OK, onB.Status); // node B never saw the refresh: it reads the rotated grant
        await LeaseFaultTests.AssertOneRefreshAndItsTokensInUseAsync(stack.Idp, upstream);
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All + nodeB.Logs.All));
    }

    /// <summary>Store settings whose connection goes through a new fault proxy in front of the test server.</summary>
    /// <summary>
    /// The store fails while a person, sent back by the provider, lands on the callback: their browser shows a page that
    /// says sign-in is unavailable (503 with Retry-After), as every other callback error does, not a JSON body.
    /// </summary>
    [Fact]
    public async Task AStoreFaultAtTheCallbackShowsTheBrowserAReadablePage()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var (store, storeWire) = await StoreBehindFaultProxyAsync("postgres");
        await using var _ = storeWire;
        await using var stack = await StartAsync(upstream, new FakeTimeProvider(DateTimeOffset.UtcNow), store);
        using var browser = new BrowserClient();
        var callback = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login?returnUrl=%2F", "alice");

        var landed = await UnderFaultAsync(storeWire, Fault.ResetAfterSend, () => browser.GetAsync(callback, new Dictionary<string, string> { ["Accept"] = "text/html" }));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, landed.Status);
        Assert.StartsWith("text/html", landed.Headers["Content-Type"]);
        Assert.Contains("<h1>Sign-in is unavailable</h1>", landed.Body);
        Assert.Contains("store_unavailable", landed.Body);
        Assert.Equal("2", landed.Headers["Retry-After"]);
        Assert.DoesNotContain(browser.CookiesFor("localhost").Keys, name => name == "__Host-portcullis");
    }

    /// <summary>
    /// The revocation worker meets the fault on its own (it polls the store), then the wire heals and the user logs out:
    /// the revocation goes out at once. The worker used to wait out a failure on the gateway's clock, deaf to new work:
    /// the interval late in production, and for good on a test's clock that stands still (a flake of
    /// <c>SplitKeyLogoutFaultTests</c> in CI, where the Redis client's reconnect fell on a poll).
    /// </summary>
    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task ARevocationQueuedAfterTheWorkerMetAStoreFaultGoesOutAtOnce(string storeKind)
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var (store, storeWire) = await StoreBehindFaultProxyAsync(storeKind);
        await using var _ = storeWire;
        store["Portcullis:Revocation:RetryDelay"] = "00:00:00.2"; // the worker polls every 100 ms
        await using var stack = await StartAsync(upstream, new FakeTimeProvider(DateTimeOffset.UtcNow), store);
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        var refreshToken = (await stack.Idp.TokensAsync()).Single().RefreshToken!;

        storeWire.Fault = Fault.ResetAfterSend;
        try
        {
            await Eventually.Until(() => Task.FromResult(stack.Gateway.Logs.All), logs => logs.Contains("[1403]", StringComparison.Ordinal), "the worker to meet the fault");
        }
        finally
        {
            storeWire.Fault = Fault.None;
        }

        var logout = await Eventually.Until(
            () => alice.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf), r => r.Status != HttpStatusCode.ServiceUnavailable, "the store wire to heal");
        // The gateway's clock stands still: only the queue's wake-up can send it.
        var active = await Eventually.Until(() => stack.Idp.IsActiveAsync(refreshToken), isActive => !isActive, "the revocation to go out");

        Assert.Equal(HttpStatusCode.OK, logout.Status);
        Assert.False(active);
    }

    internal static async Task<(Dictionary<string, string?> Settings, FaultProxy Wire)> StoreBehindFaultProxyAsync(string storeKind)
    {
        var settings = await GatewayCluster.StoreSettingsAsync(storeKind);
        const string key = "Portcullis:Store:ConnectionString";
        if (storeKind == "postgres")
        {
            var direct = new NpgsqlConnectionStringBuilder(settings[key]);
            var wire = FaultProxy.Start(direct.Port);
            settings[key] = new NpgsqlConnectionStringBuilder(settings[key]) { Port = wire.Port }.ToString();
            return (settings, wire);
        }

        var endpoint = settings[key]!.Split(',')[0];
        var redisWire = FaultProxy.Start(int.Parse(endpoint[(endpoint.LastIndexOf(':') + 1)..]));
        settings[key] = $"127.0.0.1:{redisWire.Port}";
        return (settings, redisWire);
    }

    /// <summary><paramref name="send"/> with the store's wire under <paramref name="fault"/>, which is lifted when it answers.</summary>
    internal static async Task<T> UnderFaultAsync<T>(FaultProxy storeWire, Fault fault, Func<Task<T>> send)
    {
        storeWire.Fault = fault;
        try
        {
            return await send();
        }
        finally
        {
            storeWire.Fault = Fault.None;
        }
    }

    internal static Task<TestStack> StartAsync(RecordingUpstream upstream, FakeTimeProvider clock, Dictionary<string, string?> store, bool cacheOff = false) =>
        TestStack.StartAsync(
            clock: clock,
            adjust: s =>
            {
                TestStack.OrdersRoute(upstream.Url)(s);
                s["Portcullis:Refresh:Timeout"] = "00:00:01";
                if (cacheOff)
                {
                    s["Portcullis:Session:CacheDuration"] = "00:00:00";
                }

                foreach (var (key, value) in store)
                {
                    s[key] = value;
                }
            });
}
