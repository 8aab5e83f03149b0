using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.ScaleOut;

namespace Portcullis.Tests.Faults;

/// <summary>
/// Waiting on a hung store holds no thread (issue 18 item 2). Runs alone: it measures how fast the test process's own
/// thread pool answers, which other tests running beside it would slow.
/// </summary>
[Collection(RunsAloneCollection.Name)]
public sealed class HungStoreThreadTests
{
    /// <summary>
    /// A hung store ties up no thread while requests wait on it (issue 18 item 2). Fifty API calls wait on a held
    /// PostgreSQL wire, through their command timeouts and Npgsql's cancellation attempts, while a request that needs no
    /// store is made every 200 ms. Work that blocked a pool thread per waiting call (synchronous I/O, sync over async)
    /// would starve the pool, and the probe would wait for its slow injection of new threads, for many seconds.
    /// </summary>
    [Fact]
    public async Task CallsWaitingOnAHungStoreLeaveTheGatewayAnsweringEverythingElse()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var (store, storeWire) = await StoreWireFaultTests.StoreBehindFaultProxyAsync("postgres");
        await using var _ = storeWire;
        // The calls give up after command + 2 × connect timeout: 2 + 2 × 3 s here instead of 35 s. What is measured,
        // threads held while waiting, does not depend on how long the wait is.
        const string key = "Portcullis:Store:ConnectionString";
        store[key] = new NpgsqlConnectionStringBuilder(store[key]) { CommandTimeout = 2, Timeout = 3 }.ToString();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await StoreWireFaultTests.StartAsync(upstream, clock, store, cacheOff: true);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(100) };

        storeWire.Fault = Fault.Hold;
        HttpStatusCode[] statuses;
        var slowestProbe = TimeSpan.Zero;
        var probes = 0;
        try
        {
            var calls = Task.WhenAll(Enumerable.Range(0, 50).Select(i => GatewayCluster.CallAsync(http, stack.Origin, cookie, $"hung-{i}")));
            while (!calls.IsCompleted)
            {
                var watch = Stopwatch.StartNew();
                using var probe = await http.GetAsync($"{stack.Origin}/healthz/live");
                slowestProbe = watch.Elapsed > slowestProbe ? watch.Elapsed : slowestProbe;
                probes++;
                Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
                await Task.WhenAny(calls, Task.Delay(200)); // real: the calls wait on real timeouts
            }

            statuses = await calls;
        }
        finally
        {
            storeWire.Fault = Fault.None;
            storeWire.ReleaseHeld();
        }

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.ServiceUnavailable, status));
        Assert.True(probes >= 10, $"only {probes} probes while the calls waited");
        // A probe takes milliseconds; starvation shows as seconds. The bound leaves room for a loaded 2-core machine.
        Assert.True(slowestProbe < TimeSpan.FromSeconds(3), $"a request that needs no store waited {slowestProbe.TotalSeconds:0.0} s while calls waited on the hung store");
    }
}
