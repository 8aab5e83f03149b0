using System.Net;
using Npgsql;
using Portcullis.Tests.Faults;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.ScaleOut;

/// <summary>
/// The one loss no gateway can prevent (issue 14 item 5, docs/reliability.md "Residual risks"), measured rather than
/// described: the only node holding a freshly rotated refresh token dies before it could save it. The test asserts what
/// the documentation promises: that user, and no other, has to sign in again, with a clear 401
/// <c>reauthentication_required</c> and never a 500; not before their access token has run out; and within the bound
/// the refresh settings give (the access token's expiry, or the lost request's start + <c>Refresh:TokenRequestDeadline</c>,
/// whichever is later).
/// </summary>
[Collection(RunsAloneCollection.Name)]
public sealed class UnavoidableLossTests
{
    private const string ConnectionStringKey = "Portcullis:Store:ConnectionString";

    // Login tokens live 20 s (due after 10 s), refreshed ones 10 minutes; a token request may take 8 s.
    private static readonly TimeSpan AccessTokenLifetime = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan TokenRequestDeadline = TimeSpan.FromSeconds(8);

    // Slack for a loaded 2-core machine between the bound and the poll that sees the 401.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(6);

    [Fact]
    public async Task TheOnlyNodeHoldingARotatedRefreshTokenDiesBeforeSavingItAndOnlyThatUserSignsInAgain()
    {
        await using var cluster = await GatewayCluster.StartAsync(
            "postgres", nodeCount: 2, accessTokenTtl: (int)AccessTokenLifetime.TotalSeconds, refreshedAccessTokenTtl: 600, adjust: s =>
            {
                s["Portcullis:Refresh:Timeout"] = "00:00:01";
                s["Portcullis:Refresh:LeaseDuration"] = "00:00:02";
                s["Portcullis:Refresh:TokenRequestDeadline"] = TokenRequestDeadline.ToString();
            });
        // Node A, a third node whose wire to PostgreSQL can be cut: the one that will hold the rotated token and die.
        var direct = new NpgsqlConnectionStringBuilder(cluster.Settings[ConnectionStringKey]);
        await using var storeWire = FaultProxy.Start(direct.Port);
        var settingsA = new Dictionary<string, string?>(cluster.Settings)
        {
            [ConnectionStringKey] = new NpgsqlConnectionStringBuilder(cluster.Settings[ConnectionStringKey]) { Port = storeWire.Port }.ToString(),
        };
        var directoryA = Directory.CreateTempSubdirectory("portcullis-node-a-").FullName;
        await using var nodeA = await GatewayProcess.StartAsync(settingsA, FreePort.Next(), directoryA);
        var survivors = cluster.Nodes.Select(n => n.Origin).ToArray();

        using var alice = new BrowserClient();
        await alice.LoginAsync(cluster.Origin);
        var aliceLoggedInAt = DateTimeOffset.UtcNow;
        using var bob = new BrowserClient();
        // Bob's sign-in starts on node A, which so reads the provider's discovery document now: the only request it will
        // send into the frozen provider below is alice's refresh.
        await bob.LoginAsync(nodeA.Origin, "bob");
        await Task.Delay(AccessTokenLifetime / 2 + TimeSpan.FromSeconds(0.5)); // real: past half of both users' tokens

        // Node A sends alice's refresh into a frozen provider (its caller gets 503), its wire to the store is cut (every
        // connection closed, new ones refused: nothing it sends from now on reaches PostgreSQL), and the provider wakes
        // up: it rotates alice's refresh token and answers node A, which keeps the rotated tokens in memory.
        var refreshSentAt = DateTimeOffset.UtcNow;
        cluster.Idp.Pause();
        RecordedResponse first;
        try
        {
            var pending = alice.GetAsync($"{nodeA.Origin}/api/orders/first", BrowserClient.Csrf);
            await cluster.Idp.WaitUntilUnreadRequestAsync();
            first = await pending;
            await storeWire.DisposeAsync();
        }
        finally
        {
            cluster.Idp.Resume();
        }

        await Eventually.Until(
            () => Task.FromResult(nodeA.Output), output => output.Contains("could not be saved", StringComparison.Ordinal),
            "node A to hold the rotated tokens it cannot save");
        nodeA.Kill();

        // Alice, on the surviving nodes, until her session ends (bounded); bob meanwhile.
        var aliceSaw = new List<(RecordedResponse Response, DateTimeOffset At)>();
        var bobSaw = new List<RecordedResponse>();
        var giveUp = DateTimeOffset.UtcNow + TokenRequestDeadline + AccessTokenLifetime + Slack;
        for (var i = 0; DateTimeOffset.UtcNow < giveUp && !aliceSaw.Any(s => s.Response.Status == HttpStatusCode.Unauthorized); i++)
        {
            aliceSaw.Add((await alice.GetAsync($"{survivors[i % 2]}/api/orders/alice-{i}", BrowserClient.Csrf), DateTimeOffset.UtcNow));
            bobSaw.Add(await bob.GetAsync($"{survivors[(i + 1) % 2]}/api/orders/bob-{i}", BrowserClient.Csrf));
            await Task.Delay(250); // real: the surviving nodes run on the system clock
        }

        var aliceUser = await alice.GetAsync($"{cluster.Origin}/bff/user", BrowserClient.Csrf);
        var bobAfter = new List<RecordedResponse>();
        foreach (var origin in survivors.Append(cluster.Origin))
        {
            bobAfter.Add(await bob.GetAsync($"{origin}/api/orders/bob-after", BrowserClient.Csrf));
        }

        var bobLastToken = cluster.Upstream.Requests.Last().Headers["Authorization"];
        await alice.LoginAsync(cluster.Origin);
        var aliceAgain = await alice.GetAsync($"{cluster.Origin}/api/orders/alice-again", BrowserClient.Csrf);

        LeaseFaultTests.AssertRetryLater(first, "provider_unavailable");
        // Until the end: 200 with her current access token, or 503 + Retry-After; never a 500, never an early 401.
        var (ended, endedAt) = aliceSaw.Last();
        Assert.Equal(HttpStatusCode.Unauthorized, ended.Status);
        Assert.Contains("\"error\":\"reauthentication_required\"", ended.Body);
        Assert.All(aliceSaw.SkipLast(1), s => Assert.True(
            s.Response.Status == HttpStatusCode.OK || (s.Response.Status == HttpStatusCode.ServiceUnavailable && s.Response.Headers.ContainsKey("Retry-After")),
            $"alice got {s.Response.Status} before her session ended"));
        Assert.Contains(aliceSaw, s => s.Response.Status == HttpStatusCode.OK); // she kept working on the current access token
        // The window: not before her access token expired, and within the bound the settings give.
        var expiry = aliceLoggedInAt + AccessTokenLifetime;
        var bound = new[] { expiry, refreshSentAt + TokenRequestDeadline }.Max() + Slack;
        Assert.True(endedAt >= expiry - TimeSpan.FromSeconds(1), $"alice's session ended {expiry - endedAt} before her access token expired");
        Assert.True(endedAt <= bound, $"alice's session ended {endedAt - bound} after the bound");
        Assert.Equal(HttpStatusCode.Unauthorized, aliceUser.Status);
        // Nobody else lost anything: bob's session went through its own refresh on the surviving nodes.
        Assert.All(bobSaw.Concat(bobAfter), r => Assert.Equal(HttpStatusCode.OK, r.Status));
        // The provider's record: alice's refresh token presented twice (rotated into the lost answer, then refused),
        // bob's once. Signing in again gives alice a working session.
        var refreshes = (await cluster.Idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "refresh_token").ToArray();
        Assert.Equal(2, refreshes.Count(e => e.GetProperty("outcome").GetString() == "success"));
        Assert.Equal("invalid_grant", Assert.Single(refreshes, e => e.GetProperty("outcome").GetString() == "error").GetProperty("error").GetString());
        var bobRefreshed = (await cluster.Idp.TokensAsync()).Where(t => t.GrantType == "refresh_token").Last();
        Assert.Equal($"Bearer {bobRefreshed.AccessToken}", bobLastToken);
        Assert.True(await cluster.Idp.IsActiveAsync(bobRefreshed.RefreshToken!));
        Assert.Equal(HttpStatusCode.OK, aliceAgain.Status);
        // What the operator sees: the dead node's pending save, the takeover with an unknown outcome, the forced sign-in.
        Assert.Contains("could not be saved", nodeA.Output);
        Assert.Contains("never finished it", cluster.Logs);
        Assert.Contains("no longer accepts the grant", cluster.Logs);
        Assert.Equal(["invalid_grant after a refresh with an unknown outcome"], await ReauthenticationsAsync(cluster)); // one user, alice
        Assert.All(await cluster.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, cluster.Logs + nodeA.Output));
        try
        {
            Directory.Delete(directoryA, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The details of the audit's forced sign-ins, straight from the shared PostgreSQL database.</summary>
    private static async Task<string[]> ReauthenticationsAsync(GatewayCluster cluster)
    {
        await using var connection = new NpgsqlConnection(cluster.Settings[ConnectionStringKey]);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT detail FROM audit WHERE event = 'reauthentication_required' ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return [.. rows];
    }
}
