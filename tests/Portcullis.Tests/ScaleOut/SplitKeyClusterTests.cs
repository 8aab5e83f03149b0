using System.Net;
using Npgsql;
using Portcullis.Sessions;
using Portcullis.Tests.Infrastructure;
using StackExchange.Redis;

namespace Portcullis.Tests.ScaleOut;

/// <summary>
/// Issue 15 item 1, ADR 0032: split-key sessions on the shared stores (PostgreSQL and Redis), two gateway processes
/// behind nginx. The key travels with every request, so any node opens the session and a refresh stays single-flight
/// across nodes (the lease is the grant's, as in server mode).
/// </summary>
[Collection(RunsAloneCollection.Name)]
public sealed class SplitKeyClusterTests
{
    private const string Cookie = "__Host-portcullis";

    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task TwoNodesOpenASplitKeySessionRefreshItOnceUnderAStormRefuseAWrongKeyAndLogOut(string storeKind)
    {
        // The first access token is due after 3 s (half its 6 s); the refreshed one lives 10 minutes.
        await using var cluster = await GatewayCluster.StartAsync(storeKind, nodeCount: 2, accessTokenTtl: 6, refreshedAccessTokenTtl: 600,
            adjust: s => s["Portcullis:Session:Mode"] = "split-key");
        using var browser = new BrowserClient();
        await browser.LoginAsync(cluster.Origin);
        var cookie = browser.CookiesFor("localhost")[Cookie];
        Assert.True(SplitKeyCookieValue.TryParse(cookie, out _));
        using var http = new HttpClient();
        var wrongKey = cookie[..44] + SplitKeyCookieValue.New().Format()[44..];
        foreach (var node in cluster.Nodes)
        {
            Assert.Equal(HttpStatusCode.OK, await GatewayCluster.CallAsync(http, node.Origin, cookie, $"direct-{node.Port}"));
            Assert.Equal(HttpStatusCode.Unauthorized, await GatewayCluster.CallAsync(http, node.Origin, wrongKey, $"wrong-{node.Port}"));
        }

        Assert.Equal(cluster.Nodes.Count, cluster.Upstream.Requests.Count); // the wrong key reached no upstream
        Assert.True(await GrantIsSessionKeyedAsync(cluster, storeKind));

        // Real: the nodes are separate gateway processes behind nginx, each on the system clock.
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        var statuses = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => GatewayCluster.CallAsync(http, cluster.Origin, cookie, $"storm-{i}")));

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(1, await cluster.RefreshCountAsync());
        var refreshed = (await cluster.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.All(cluster.Upstream.Requests.TakeLast(100), r => Assert.Equal($"Bearer {refreshed.AccessToken}", r.Headers["Authorization"]));

        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(HttpMethod.Post, $"{cluster.Origin}/bff/logout", null, BrowserClient.Csrf)).Status);
        await Eventually.Until(() => cluster.Idp.IsActiveAsync(refreshed.RefreshToken!), active => !active, "the refresh token to be revoked");
        Assert.Equal(HttpStatusCode.Unauthorized, await GatewayCluster.CallAsync(http, cluster.Origin, cookie, "after-logout"));
        Assert.DoesNotContain(cookie[44..], cluster.Logs);
        Assert.All(await cluster.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, cluster.Logs));
    }

    /// <summary>The store's own record of the single grant says it is sealed under the session's key.</summary>
    private static async Task<bool> GrantIsSessionKeyedAsync(GatewayCluster cluster, string storeKind)
    {
        if (storeKind == "postgres")
        {
            await using var connection = new NpgsqlConnection(cluster.Settings["Portcullis:Store:ConnectionString"]);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT session_keyed FROM grants", connection);
            return (bool)(await command.ExecuteScalarAsync())!;
        }

        using var redis = await ConnectionMultiplexer.ConnectAsync(TestServices.RedisConfiguration);
        var prefix = cluster.Settings["Portcullis:Store:KeyPrefix"]!;
        var keys = new List<RedisKey>();
        await foreach (var key in redis.GetServer(redis.GetEndPoints()[0]).KeysAsync(pattern: prefix + "grant:*"))
        {
            keys.Add(key);
        }

        return (string?)await redis.GetDatabase().HashGetAsync(Assert.Single(keys), "keyed") == "1";
    }
}
