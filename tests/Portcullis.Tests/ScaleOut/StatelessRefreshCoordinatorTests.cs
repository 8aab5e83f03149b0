using System.Net;
using Portcullis.Sessions;
using Portcullis.Tests.Infrastructure;
using StackExchange.Redis;

namespace Portcullis.Tests.ScaleOut;

/// <summary>
/// Issue 15 item 2, ADR 0033: stateless mode's Redis refresh coordinator. Two gateway processes in stateless mode share
/// one key ring folder and master key and nothing else but the coordinator's Redis; a storm of requests with the same
/// expired cookies, split across both nodes, costs one refresh_token request at the (rotating) provider, every request
/// succeeds with the new tokens, and Redis holds no token in clear.
/// </summary>
[Collection(RunsAloneCollection.Name)]
public sealed class StatelessRefreshCoordinatorTests
{
    private const string Cookie = "__Host-portcullis";

    [Fact]
    public async Task TwoStatelessNodesShareOneRefreshThroughRedisAndRedisHoldsNoToken()
    {
        var keyRing = Directory.CreateTempSubdirectory("portcullis-coordinator-").FullName;
        try
        {
            await StormAsync(keyRing);
        }
        finally
        {
            Directory.Delete(keyRing, recursive: true);
        }
    }

    /// <summary>
    /// Logout drops kept refresh results on the node that answers it; the others learn of it from the coordinator. A copy
    /// of the cookies from before a refresh, replayed after the logout on a node that kept the refresh's result (it
    /// served a straggler) or on one that would read the published result, must not be handed the refreshed tokens the
    /// logout revoked. Before the tombstone, both got 200 and the upstream got the revoked access token.
    /// </summary>
    [Fact]
    public async Task AfterALogoutNoNodeHandsAPreRefreshCookieCopyTheRefreshedTokens()
    {
        var keyRing = Directory.CreateTempSubdirectory("portcullis-coordinator-").FullName;
        try
        {
            await using var cluster = await StatelessClusterAsync(keyRing, nodeCount: 3);
            using var browser = new BrowserClient();
            Assert.Equal(HttpStatusCode.OK, (await browser.LoginAsync(cluster.Nodes[0].Origin)).Status);
            var beforeRefresh = string.Join("; ", browser.CookiesFor("localhost").Select(c => $"{c.Key}={c.Value}"));
            // Real: the nodes are separate processes on the system clock (no fake clock reaches them). Past the 3 s
            // refresh point; a loaded machine only waits longer, which leaves the token as due and the result's 30 s ample.
            await Task.Delay(TimeSpan.FromSeconds(3.5));
            using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false });

            // The browser's refresh on node 0; a straggler with the old cookies on node 1 uses its published result.
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{cluster.Nodes[0].Origin}/api/orders/refresh", BrowserClient.Csrf)).Status);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, cluster.Nodes[1].Origin, beforeRefresh, "straggler")).Status);
            var refreshed = (await cluster.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
            Assert.Equal($"Bearer {refreshed.AccessToken}", cluster.Upstream.Requests.Last().Headers["Authorization"]);
            Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(HttpMethod.Post, $"{cluster.Nodes[0].Origin}/bff/logout", null, BrowserClient.Csrf)).Status);
            var upstreamBefore = cluster.Upstream.Requests.Count;

            // Well inside the 30 s a result is kept: node 1 holds it, node 2 would read it from Redis.
            var replays = new List<(HttpStatusCode Status, string[] SetCookies)>();
            foreach (var node in cluster.Nodes)
            {
                replays.Add(await SendAsync(http, node.Origin, beforeRefresh, "replay"));
            }

            Assert.All(replays, r => Assert.Equal(HttpStatusCode.Unauthorized, r.Status));
            Assert.Equal(upstreamBefore, cluster.Upstream.Requests.Count);
            Assert.Equal(1, await cluster.RefreshCountAsync());
            Assert.Contains("[6014]", cluster.Logs); // StatelessResultOfLoggedOutSessionRefused
            foreach (var token in await cluster.Idp.AllTokenValuesAsync())
            {
                Assert.DoesNotContain(token, cluster.Logs);
            }
        }
        finally
        {
            Directory.Delete(keyRing, recursive: true);
        }
    }

    private static Task<GatewayCluster> StatelessClusterAsync(string keyRing, int nodeCount) =>
        // The first access token is due after 3 s (half its 6 s); the refreshed one lives 10 minutes.
        GatewayCluster.StartAsync("redis", nodeCount, accessTokenTtl: 6, refreshedAccessTokenTtl: 600, adjust: s =>
        {
            s["Portcullis:Session:Mode"] = "stateless";
            // No store: the key ring is files in the shared folder, sealed with the shared master key.
            s["Portcullis:DataDirectory"] = keyRing;
            foreach (var key in s.Keys.Where(k => k.StartsWith("Portcullis:Store:", StringComparison.Ordinal)).ToList())
            {
                s.Remove(key);
            }

            s["Portcullis:Session:StatelessRefreshCoordinator"] = TestServices.RedisConfiguration;
        });

    private static async Task StormAsync(string keyRing)
    {
        await using var cluster = await StatelessClusterAsync(keyRing, nodeCount: 2);
        using var browser = new BrowserClient();
        Assert.Equal(HttpStatusCode.OK, (await browser.LoginAsync(cluster.Nodes[0].Origin)).Status);
        var cookies = string.Join("; ", browser.CookiesFor("localhost").Select(c => $"{c.Key}={c.Value}"));
        Assert.Contains(StatelessSessions.RefreshCookieName + "=", cookies);

        // Real: the nodes are separate processes on the system clock.
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false });
        var storm = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => SendAsync(http, cluster.Nodes[i % 2].Origin, cookies, $"storm-{i}")));

        Assert.All(storm, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.All(storm, r => Assert.Contains(r.SetCookies, c => c.StartsWith(Cookie + "=", StringComparison.Ordinal)));
        Assert.Equal(1, await cluster.RefreshCountAsync());
        var refreshed = (await cluster.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.All(cluster.Upstream.Requests.TakeLast(40), r => Assert.Equal($"Bearer {refreshed.AccessToken}", r.Headers["Authorization"]));
        Assert.Contains("[6012]", cluster.Logs); // RefreshCoordinatorResultUsed: a node used the other's published result

        // What Redis holds: the sealed result (and no lock any more), named by the refresh token's hash; no token in clear.
        using var redis = await ConnectionMultiplexer.ConnectAsync(TestServices.RedisConfiguration);
        var values = new List<string>();
        await foreach (var key in redis.GetServer(redis.GetEndPoints()[0]).KeysAsync(pattern: "portcullis:refresh-*"))
        {
            values.Add((string)key! + "=" + await redis.GetDatabase().StringGetAsync(key));
        }

        var tokenHash = Portcullis.Storage.Identifiers.Hash((await cluster.Idp.TokensAsync()).First(t => t.GrantType != "refresh_token").RefreshToken!);
        Assert.Contains(values, v => v.StartsWith($"portcullis:refresh-result:{tokenHash}=", StringComparison.Ordinal));
        Assert.DoesNotContain(values, v => v.StartsWith("portcullis:refresh-lock:", StringComparison.Ordinal));
        foreach (var token in await cluster.Idp.AllTokenValuesAsync())
        {
            Assert.All(values, v => Assert.DoesNotContain(token, v));
            Assert.DoesNotContain(token, cluster.Logs);
        }
    }

    private static async Task<(HttpStatusCode Status, string[] SetCookies)> SendAsync(HttpClient http, string origin, string cookies, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{origin}/api/orders/{path}");
        request.Headers.Add("Cookie", cookies);
        request.Headers.Add("X-CSRF", "1");
        using var response = await http.SendAsync(request);
        return (response.StatusCode, response.Headers.TryGetValues("Set-Cookie", out var values) ? values.ToArray() : []);
    }
}
