using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.ScaleOut;

/// <summary>Three gateway processes behind nginx sharing PostgreSQL or Redis (issue 7).</summary>
[Collection(RunsAloneCollection.Name)]
public sealed class ScaleOutTests
{
    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task ThreeNodesBehindNginxShareSessionsAndRefreshOnceUnderA300RequestStorm(string storeKind)
    {
        // The first access token lives 6 s, so a refresh is due after 3 s (half the lifetime). The refreshed one lives
        // 10 minutes: a storm that outlasts 3 s on a loaded 2-core machine must not find it due again (a second,
        // legitimate refresh), which is what made this test fail on fresh machines.
        await using var cluster = await GatewayCluster.StartAsync(storeKind, accessTokenTtl: 6, refreshedAccessTokenTtl: 600);
        using var browser = new BrowserClient();
        // Through the balancer: login and callback may land on different nodes.
        await browser.LoginAsync(cluster.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        using var http = new HttpClient();
        foreach (var node in cluster.Nodes)
        {
            Assert.Equal(HttpStatusCode.OK, await GatewayCluster.CallAsync(http, node.Origin, cookie, $"direct-{node.Port}"));
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{node.Origin}/bff/user", BrowserClient.Csrf)).Status);
        }

        Assert.Equal(0, await cluster.RefreshCountAsync());
        // Real: the nodes are separate gateway processes behind nginx, each on the system clock.
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        var statuses = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => GatewayCluster.CallAsync(http, cluster.Origin, cookie, $"storm-{i}")));

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(1, await cluster.RefreshCountAsync());
        var refreshed = (await cluster.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.True(await cluster.Idp.IsActiveAsync(refreshed.RefreshToken!));
        Assert.All(cluster.Upstream.Requests.TakeLast(300), r => Assert.Equal($"Bearer {refreshed.AccessToken}", r.Headers["Authorization"]));
        Assert.All(await cluster.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, cluster.Logs));
        Assert.DoesNotContain(cookie, cluster.Logs);
    }

    [Fact]
    public async Task KillingANodeDuringARefreshStormLosesNoSessionAndNoGrant()
    {
        // The first access token is due after 3 s; the refreshed one lives 10 minutes, so the slowed-down storm (a node
        // dies under it) cannot find it due again however long it takes.
        await using var cluster = await GatewayCluster.StartAsync("postgres", accessTokenTtl: 6, refreshedAccessTokenTtl: 600);
        using var browser = new BrowserClient();
        await browser.LoginAsync(cluster.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        using var http = new HttpClient();
        // Real: the nodes are separate gateway processes behind nginx, each on the system clock.
        await Task.Delay(TimeSpan.FromSeconds(3.5));

        // Node 0 starts the refresh; the storm spreads over all three; node 2 dies while requests wait on it.
        var first = GatewayCluster.CallAsync(http, cluster.Nodes[0].Origin, cookie, "first");
        var storm = Enumerable.Range(0, 300).Select(i => GatewayCluster.CallAsync(http, cluster.Origin, cookie, $"storm-{i}")).ToList();
        await Task.Delay(30); // real: lets the storm reach the node process before it is killed
        cluster.Nodes[2].Kill();
        var statuses = await Task.WhenAll(storm.Append(first));

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(1, await cluster.RefreshCountAsync());
        var refreshed = (await cluster.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.True(await cluster.Idp.IsActiveAsync(refreshed.RefreshToken!)); // no reused refresh token revoked the grant
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await GatewayCluster.CallAsync(http, cluster.Origin, cookie, $"after-{i}"));
        }

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{cluster.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }
}

/// <summary>Issue 14 on three nodes: the provider freezes while a refresh is due under traffic spread over all nodes.</summary>
[Collection(RunsAloneCollection.Name)]
public sealed class ClusterFaultTests
{
    [Fact]
    public async Task AProviderFrozenDuringAStormOnThreeNodesAnswersLateAndEverySessionGoesOn()
    {
        await using var cluster = await GatewayCluster.StartAsync(
            "postgres", accessTokenTtl: 6, refreshedAccessTokenTtl: 600, adjust: s => s["Portcullis:Refresh:Timeout"] = "00:00:01");
        using var browser = new BrowserClient();
        await browser.LoginAsync(cluster.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        using var http = new HttpClient();
        await Task.Delay(TimeSpan.FromSeconds(3.5)); // real: past half of the provider's 6 s token

        cluster.Idp.Pause();
        HttpStatusCode[] during;
        try
        {
            during = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => GatewayCluster.CallAsync(http, cluster.Nodes[i % 3].Origin, cookie, $"during-{i}")));
        }
        finally
        {
            cluster.Idp.Resume();
        }

        Assert.All(during, status => Assert.Equal(HttpStatusCode.ServiceUnavailable, status));
        await Eventually.Until(() => cluster.RefreshCountAsync(), count => count > 0, "the provider to handle the refresh");
        foreach (var node in cluster.Nodes)
        {
            Assert.Equal(HttpStatusCode.OK, await GatewayCluster.CallAsync(http, node.Origin, cookie, $"after-{node.Port}"));
        }

        var refreshes = (await cluster.Idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "refresh_token").ToArray();
        Assert.Equal("success", Assert.Single(refreshes).GetProperty("outcome").GetString()); // one presentation, no invalid_grant
        var refreshed = (await cluster.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.True(await cluster.Idp.IsActiveAsync(refreshed.RefreshToken!));
        Assert.All(cluster.Upstream.Requests.TakeLast(3), r => Assert.Equal($"Bearer {refreshed.AccessToken}", r.Headers["Authorization"]));
        Assert.All(await cluster.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, cluster.Logs));
    }

    [Fact]
    public async Task ANodeFrozenPastItsLeaseWithItsTokenRequestOutstandingLosesNoSessionAndNoOtherNodePresentsTheRefreshToken()
    {
        // The first access token lives 16 s and is due after 8 s, so it is still valid through the freeze; leases last 2 s.
        await using var cluster = await GatewayCluster.StartAsync(
            "postgres", accessTokenTtl: 16, refreshedAccessTokenTtl: 600, adjust: s =>
            {
                s["Portcullis:Refresh:Timeout"] = "00:00:01";
                s["Portcullis:Refresh:LeaseDuration"] = "00:00:02";
            });
        using var browser = new BrowserClient();
        await browser.LoginAsync(cluster.Origin);
        await Task.Delay(TimeSpan.FromSeconds(8.5)); // real: past half of the provider's 16 s token

        // Node 0 takes the lease and sends the token request into a frozen provider; its caller gives up with 503.
        var holder = cluster.Nodes[0];
        cluster.Idp.Pause();
        RecordedResponse first;
        var during = new List<RecordedResponse>();
        try
        {
            first = await browser.GetAsync($"{holder.Origin}/api/orders/first", BrowserClient.Csrf);
            holder.Freeze();
            try
            {
                // The provider answers into the frozen node's socket; the node stays frozen for twice its lease.
                cluster.Idp.Resume();
                await Eventually.Until(() => cluster.RefreshCountAsync(), count => count > 0, "the provider to handle the refresh");
                var frozenUntil = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(4);
                for (var i = 0; DateTimeOffset.UtcNow < frozenUntil; i++)
                {
                    during.Add(await browser.GetAsync($"{cluster.Nodes[1 + (i % 2)].Origin}/api/orders/during-{i}", BrowserClient.Csrf));
                }
            }
            finally
            {
                holder.Thaw();
            }
        }
        finally
        {
            cluster.Idp.Resume(); // harmless when already running
        }

        // The thawed node reads the late answer and saves it: nothing newer was written, so its fence holds.
        var refreshed = (await cluster.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        await Eventually.Until(
            async () => (await browser.GetAsync($"{cluster.Nodes[1].Origin}/api/orders/thawed", BrowserClient.Csrf)).Status == HttpStatusCode.OK
                && cluster.Upstream.Requests.Last().Headers["Authorization"] == $"Bearer {refreshed.AccessToken}",
            done => done,
            "the rotated tokens to be saved and used");
        var after = new List<RecordedResponse>();
        foreach (var origin in cluster.Nodes.Select(n => n.Origin).Append(cluster.Origin))
        {
            after.Add(await browser.GetAsync($"{origin}/api/orders/after", BrowserClient.Csrf));
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.Status);
        Assert.NotEmpty(during);
        Assert.All(during, r => Assert.True(
            r.Status == HttpStatusCode.OK || (r.Status == HttpStatusCode.ServiceUnavailable && r.Headers.ContainsKey("Retry-After")), $"got {r.Status}"));
        // Once the frozen node's lease ran out, the others took it, saw a token request outstanding and kept using the
        // current access token instead of presenting the refresh token.
        Assert.Contains(during, r => r.Status == HttpStatusCode.OK);
        Assert.Contains("no longer holds its lease", cluster.Logs);
        Assert.All(after, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        var refreshes = (await cluster.Idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "refresh_token").ToArray();
        Assert.Equal("success", Assert.Single(refreshes).GetProperty("outcome").GetString()); // presented once, no invalid_grant
        Assert.True(await cluster.Idp.IsActiveAsync(refreshed.RefreshToken!));
        Assert.All(cluster.Upstream.Requests.TakeLast(after.Count), r => Assert.Equal($"Bearer {refreshed.AccessToken}", r.Headers["Authorization"]));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{cluster.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.All(await cluster.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, cluster.Logs));
    }
}

/// <summary>
/// Tests that restart the shared PostgreSQL or Redis server, or run several gateway processes at once, run alone
/// (xunit runs a non-parallel collection after the others): a restart never hits another test, and three gateway
/// processes do not starve other tests' servers of the two cores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAloneCollection
{
    public const string Name = "runs alone";
}

/// <summary>Tests using the shared test servers heavily; they run one after the other to stay within two cores.</summary>
[CollectionDefinition(Name)]
public sealed class SharedServicesCollection
{
    public const string Name = "shared services";
}
