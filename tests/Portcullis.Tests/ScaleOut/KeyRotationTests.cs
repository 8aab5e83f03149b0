using System.Collections.Concurrent;
using System.Net;
using System.Text.RegularExpressions;
using Npgsql;
using Portcullis.Tests.Infrastructure;
using Portcullis.Vault.KeyRing;

namespace Portcullis.Tests.ScaleOut;

/// <summary>Rotating the shared key ring while nodes serve traffic (issue 7): nobody is logged out, and <c>reencrypt</c> retires the old key.</summary>
[Collection(RunsAloneCollection.Name)]
public sealed partial class KeyRotationTests
{
    [Fact]
    public async Task RotatingTheKeyUnderTrafficFailsNoRequestAndReencryptLeavesNoRowOnTheOldKey()
    {
        await using var cluster = await GatewayCluster.StartAsync("postgres", nodeCount: 2);
        var connectionString = cluster.Settings["Portcullis:Store:ConnectionString"]!;
        using var alice = new BrowserClient();
        await alice.LoginAsync(cluster.Origin, "alice");
        var aliceCookie = alice.CookiesFor("localhost")["__Host-portcullis"];
        var oldKeys = (await KeyIdsAsync(connectionString)).Distinct().ToArray();
        var oldKey = Assert.Single(oldKeys);

        // Traffic through the balancer for the whole rotation: API calls and /bff/user, both nodes.
        var statuses = new ConcurrentBag<HttpStatusCode>();
        using var stop = new CancellationTokenSource();
        var traffic = Task.Run(async () =>
        {
            using var http = new HttpClient();
            for (var i = 0; i < 5000 && !stop.IsCancellationRequested; i++)
            {
                statuses.Add(await GatewayCluster.CallAsync(http, cluster.Origin, aliceCookie, $"during-{i}"));
            }
        });

        var rotated = await GatewayCommand.RunAsync("rotate-keys", cluster.Settings, Path.GetTempPath());
        Assert.True(rotated.ExitCode == 0, rotated.Output);
        var newKey = Guid.Parse(CreatedKey().Match(rotated.Output).Groups[1].Value);
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // real: both node processes notice the new key (RefreshInterval 1 s on their own clocks)

        using var bob = new BrowserClient();
        await bob.LoginAsync(cluster.Origin, "bob"); // written under the new key
        var reencrypted = await GatewayCommand.RunAsync("reencrypt", cluster.Settings, Path.GetTempPath());
        Assert.True(reencrypted.ExitCode == 0, reencrypted.Output);
        Assert.Matches("Re-encrypted [1-9][0-9]* value", reencrypted.Output);
        await Task.Delay(500); // real: traffic through nginx keeps flowing for a while after the re-encryption
        await stop.CancelAsync();
        await traffic;

        Assert.True(statuses.Count > 20, $"only {statuses.Count} requests ran during the rotation");
        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{cluster.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync($"{cluster.Origin}/bff/user", BrowserClient.Csrf)).Status);
        foreach (var node in cluster.Nodes)
        {
            using var http = new HttpClient();
            Assert.Equal(HttpStatusCode.OK, await GatewayCluster.CallAsync(http, node.Origin, aliceCookie, "after"));
        }

        var keysAfter = await KeyIdsAsync(connectionString);
        Assert.NotEmpty(keysAfter);
        Assert.DoesNotContain(oldKey, keysAfter);
        Assert.All(keysAfter, key => Assert.Equal(newKey, key));
        // The key ring in the database holds both keys, each sealed with the master key (docs/adr/0023), none in clear.
        var ring = await RingAsync(connectionString);
        Assert.Equal(2, ring.Count);
        Assert.All(ring, xml => Assert.StartsWith("<sealed v=\"1\">", xml));
        Assert.All(ring, xml => Assert.DoesNotContain("<masterKey", xml));
        Assert.All(ring, xml => Assert.DoesNotContain("<key", xml));
    }

    /// <summary>The Data Protection key id of every encrypted value in the database.</summary>
    private static async Task<List<Guid>> KeyIdsAsync(string connectionString)
    {
        var ids = new List<Guid>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var sql in new[] { "SELECT tokens FROM grants", "SELECT data FROM sessions", "SELECT data FROM login_transactions", "SELECT token FROM pending_revocations" })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                ids.Add(ProtectedPayload.KeyId(reader.GetFieldValue<byte[]>(0)) ?? Guid.Empty);
            }
        }

        return ids;
    }

    private static async Task<List<string>> RingAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT xml FROM data_protection_keys", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var ring = new List<string>();
        while (await reader.ReadAsync())
        {
            ring.Add(reader.GetString(0));
        }

        return ring;
    }

    [GeneratedRegex("Created key ([0-9a-f-]{36})")]
    private static partial Regex CreatedKey();
}
