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

    private static async Task StormAsync(string keyRing)
    {
        // The first access token is due after 3 s (half its 6 s); the refreshed one lives 10 minutes.
        await using var cluster = await GatewayCluster.StartAsync("redis", nodeCount: 2, accessTokenTtl: 6, refreshedAccessTokenTtl: 600, adjust: s =>
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
