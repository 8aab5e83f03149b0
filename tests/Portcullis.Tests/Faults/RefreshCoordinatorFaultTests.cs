using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Storage;
using Portcullis.Tests.Infrastructure;
using StackExchange.Redis;
using static Portcullis.Tests.Sessions.StatelessSessionTests;

namespace Portcullis.Tests.Faults;

/// <summary>
/// Stateless mode's Redis refresh coordinator through faults on its wire (ADR 0033: "the request never fails for the
/// coordinator alone"). The gateway talks to the real test Redis through a <see cref="FaultProxy"/>: first Redis hangs
/// while the coordinator connects, then it hangs again under an established connection in the middle of the next refresh,
/// and each time answers late. Every refresh still reaches the provider exactly once and every request is answered with
/// the new token; once the wire is healthy the coordinator is used again (it publishes the next refresh's result).
/// </summary>
public sealed class RefreshCoordinatorFaultTests
{
    // A hung coordinator is given up after StatelessRefresh.CoordinatorStepLimit (2 s of the gateway's clock, which the
    // test moves on while it waits); StackExchange.Redis's own timeouts, real seconds, took 15 s for the first refresh.
    // The bound is real time, sized for a loaded two-core machine and well below those.
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(6);

    [Fact]
    public async Task ARedisThatHangsAndAnswersLateNeverFailsARefreshNorMakesItPresentATokenTwice()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var redisEndpoint = TestServices.RedisConfiguration.Split(',')[0];
        await using var wire = FaultProxy.Start(int.Parse(redisEndpoint[(redisEndpoint.LastIndexOf(':') + 1)..]));
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(clock: clock, adjust: s =>
        {
            Stateless(upstream.Url)(s);
            s["Portcullis:Session:StatelessRefreshCoordinator"] = $"127.0.0.1:{wire.Port}";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookies = Header(browser);
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false });

        // 1. Redis hangs while the coordinator opens its first connection: the handshake is held, answered later.
        wire.Fault = Fault.Hold;
        clock.Advance(TimeSpan.FromSeconds(61)); // past the refresh point of the 120 s token
        var first = await AnsweredWithinBoundAsync(clock, wire, SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/first", cookies));
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(1, await RefreshesAsync(stack));
        var firstRefresh = (await stack.Idp.TokensAsync()).Last(t => t.GrantType == "refresh_token");
        Assert.Equal($"Bearer {firstRefresh.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.Single(CoordinatorUnreachableWarnings(stack));
        cookies = Merge(cookies, first.SetCookies);

        wire.Fault = Fault.None;
        wire.ReleaseHeld();
        await UntilTheCoordinatorAnswersAsync(stack, "the coordinator to connect once Redis answers");

        // 2. Redis hangs under the established connection in the middle of the next refresh; it answers after the
        // request gave up on it (the held command reaches Redis late, when it no longer matters).
        wire.Fault = Fault.Hold;
        clock.Advance(TimeSpan.FromSeconds(61));
        var second = await AnsweredWithinBoundAsync(clock, wire, SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/second", cookies));
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(2, await RefreshesAsync(stack));
        var secondRefresh = (await stack.Idp.TokensAsync()).Last(t => t.GrantType == "refresh_token");
        Assert.Equal($"Bearer {secondRefresh.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.Equal(2, CoordinatorUnreachableWarnings(stack).Length);
        cookies = Merge(cookies, second.SetCookies);

        wire.Fault = Fault.None;
        wire.ReleaseHeld();
        await UntilTheCoordinatorAnswersAsync(stack, "the coordinator's connection to answer again");

        // 3. A healthy wire: the coordinator leads the next refresh again and publishes its result, named by the hash of
        // the refresh token it spent.
        clock.Advance(TimeSpan.FromSeconds(61));
        // Nothing on this path waits on the gateway's clock, which stays put: a slow but healthy round trip on a loaded
        // machine cannot be mistaken for a hung one.
        var third = await SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/third", cookies).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, third.Status);
        Assert.Equal(3, await RefreshesAsync(stack));
        var thirdRefresh = (await stack.Idp.TokensAsync()).Last(t => t.GrantType == "refresh_token");
        Assert.Equal($"Bearer {thirdRefresh.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.Equal(2, CoordinatorUnreachableWarnings(stack).Length);
        using (var redis = await ConnectionMultiplexer.ConnectAsync(TestServices.RedisConfiguration))
        {
            var published = $"portcullis:refresh-result:{Identifiers.Hash(secondRefresh.RefreshToken!)}";
            Assert.True(await redis.GetDatabase().KeyExistsAsync(published), "the third refresh was coordinated through Redis");
        }

        // Each refresh token was presented once: with rotation, a second presentation would have revoked the grant.
        Assert.True(await stack.Idp.IsActiveAsync(thirdRefresh.RefreshToken!));
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All));
    }

    /// <summary>
    /// Two nodes, each with its own wire to the same Redis. Node A takes the lock and presents the refresh token, and the
    /// provider holds its answer. Node B finds the lock held, then its Redis stops answering: B must not take that for an
    /// unreachable coordinator and present the token too (with rotation, a second presentation revokes the grant). It
    /// waits to its limit and goes on with the access token it has; the provider sees one refresh, and once it answers,
    /// both nodes use that refresh.
    /// </summary>
    [Fact]
    public async Task ANodeThatSawAnotherHoldTheLockNeverPresentsTheTokenItselfWhenRedisThenHangs()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var redisEndpoint = TestServices.RedisConfiguration.Split(',')[0];
        var redisPort = int.Parse(redisEndpoint[(redisEndpoint.LastIndexOf(':') + 1)..]);
        await using var wireA = FaultProxy.Start(redisPort);
        await using var wireB = FaultProxy.Start(redisPort);
        var idpPort = FreePort.Next();
        await using var idpWire = FaultProxy.Start(idpPort);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var nodeBName = $"node-b-{Guid.NewGuid():N}";
        await using var stack = await TestStack.StartAsync(clock: clock, idpPort: idpPort, issuerPort: idpWire.Port, adjust: s =>
        {
            Stateless(upstream.Url)(s);
            // A wait limit of 6 s (1.5 × 4 s): room for a few 2-second coordinator timeouts within it.
            s["Portcullis:Refresh:Timeout"] = "00:00:04";
            s["Portcullis:Session:StatelessRefreshCoordinator"] = $"127.0.0.1:{wireA.Port}";
        });
        var settingsB = new Dictionary<string, string?>(stack.Settings)
        {
            ["Portcullis:Session:StatelessRefreshCoordinator"] = $"127.0.0.1:{wireB.Port},name={nodeBName}",
        };
        var portB = FreePort.Next();
        await using var nodeB = await GatewayHost.StartAsync(settingsB, portB, stack.Gateway.DataDirectory, clock: clock);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookies = Header(browser);
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false });
        clock.Advance(TimeSpan.FromSeconds(61));

        idpWire.Fault = Fault.Hold;
        var onA = SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/on-a", cookies);
        await idpWire.WaitUntilHeldAsync(); // A holds the lock and has presented the token

        var onB = SendAsync(http, HttpMethod.Get, $"http://localhost:{portB}/api/orders/on-b", cookies);
        // B read no result and found the lock taken (its last command on Redis is the refused SET NX); it now polls.
        await Eventually.Until(() => LastCommandOfAsync(nodeBName), command => command == "set", "node B to find the lock held", TimeSpan.FromSeconds(30));
        wireB.Fault = Fault.Hold;
        var answeredOnB = await LeaseFaultTests.UntilAnsweredAsync(clock, onB);
        var answeredOnA = await LeaseFaultTests.UntilAnsweredAsync(clock, onA);

        // Both went on with the access token they had (still valid); nobody presented the refresh token a second time.
        Assert.Equal(HttpStatusCode.OK, answeredOnB.Status);
        Assert.Equal(HttpStatusCode.OK, answeredOnA.Status);
        Assert.DoesNotContain("[6011]", nodeB.Logs.All);

        idpWire.Fault = Fault.None;
        idpWire.ReleaseHeld();
        wireB.Fault = Fault.None;
        wireB.ReleaseHeld();
        await Eventually.Until(() => RefreshesAsync(stack), count => count > 0, "the provider to answer node A's refresh");
        var afterA = await Eventually.Until(
            () => SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/after-a", cookies), r => r.Status == HttpStatusCode.OK, "node A to use its refresh");
        var refreshed = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.Equal($"Bearer {refreshed.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.Equal(1, await RefreshesAsync(stack));
        Assert.True(await stack.Idp.IsActiveAsync(refreshed.RefreshToken!), "the grant survived: no refresh token was presented twice");
    }

    /// <summary>The last command Redis ran for the client of that name (its interactive connection), or null.</summary>
    private static async Task<string?> LastCommandOfAsync(string clientName)
    {
        var options = ConfigurationOptions.Parse(TestServices.RedisConfiguration);
        options.AllowAdmin = true; // CLIENT LIST
        using var redis = await ConnectionMultiplexer.ConnectAsync(options);
        var clients = await redis.GetServer(redis.GetEndPoints()[0]).ClientListAsync();
        return clients.Where(c => c.Name == clientName).Select(c => c.LastCommand).FirstOrDefault(command => command is "get" or "set");
    }

    /// <summary>
    /// Once the coordinator's bytes are held on the wire (so the request is waiting on it), moves the gateway's clock on
    /// until the request is answered, and checks it was answered within the real-time bound.
    /// </summary>
    private static async Task<T> AnsweredWithinBoundAsync<T>(FakeTimeProvider clock, FaultProxy wire, Task<T> pending)
    {
        var watch = Stopwatch.StartNew();
        await wire.WaitUntilHeldAsync();
        var answer = await LeaseFaultTests.UntilAnsweredAsync(clock, pending);
        Assert.True(watch.Elapsed < AnswerBound, $"answered after {watch.Elapsed.TotalSeconds:F1} s; a hung coordinator may cost its step limit, not the client's timeouts");
        return answer;
    }

    private static string[] CoordinatorUnreachableWarnings(TestStack stack) =>
        stack.Gateway.Logs.Lines.Where(line => line.Contains("[6011]", StringComparison.Ordinal)).ToArray();

    /// <summary>Until the gateway's own coordinator reads from Redis through the wire without an error.</summary>
    private static Task UntilTheCoordinatorAnswersAsync(TestStack stack, string what)
    {
        var coordinator = stack.Gateway.Services.GetServices<IRefreshCoordinator>().Last();
        return Eventually.Until(
            async () =>
            {
                try
                {
                    return await coordinator.ReadResultAsync("readiness-probe", CancellationToken.None) is null;
                }
                catch (Exception exception) when (exception is RedisException or RedisTimeoutException)
                {
                    return false;
                }
            },
            answered => answered,
            what,
            TimeSpan.FromSeconds(30));
    }
}
