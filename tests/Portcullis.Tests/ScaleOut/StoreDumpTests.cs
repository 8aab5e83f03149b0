using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Portcullis.Tests.Infrastructure;
using StackExchange.Redis;

namespace Portcullis.Tests.ScaleOut;

/// <summary>A copy of the shared store gives an attacker no token and no usable cookie (SECURITY.md items 2 and 21, issue 7).</summary>
[Collection(SharedServicesCollection.Name)]
public sealed class StoreDumpTests
{
    [Fact]
    public async Task APostgresDumpContainsNoTokenNoCookieAndNoKeyInClear()
    {
        var (stack, secrets) = await SignInAndRefreshAsync("postgres");
        await using (stack)
        {
            var builder = new NpgsqlConnectionStringBuilder(stack.Settings["Portcullis:Store:ConnectionString"]);
            var dumpFile = Path.Combine(stack.Gateway.DataDirectory, "dump.sql");
            var start = new ProcessStartInfo(Path.Combine(TestServices.PostgresBin, "pg_dump"))
            {
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "-h", builder.Host!, "-p", builder.Port.ToString(), "-U", builder.Username!, "-f", dumpFile, builder.Database! })
            {
                start.ArgumentList.Add(argument);
            }

            using var pgDump = Process.Start(start)!;
            var error = await pgDump.StandardError.ReadToEndAsync();
            await pgDump.WaitForExitAsync();
            Assert.True(pgDump.ExitCode == 0, error);
            var dump = await File.ReadAllBytesAsync(dumpFile);

            Assert.Contains("COPY public.sessions", Encoding.UTF8.GetString(dump)); // the dump does hold the rows
            AssertHoldsNone(dump, secrets);
        }
    }

    [Fact]
    public async Task ARedisDumpContainsNoTokenNoCookieAndNoKeyInClear()
    {
        var (stack, secrets) = await SignInAndRefreshAsync("redis");
        await using (stack)
        {
            using var redis = await ConnectionMultiplexer.ConnectAsync(TestServices.RedisConfiguration + ",allowAdmin=true");
            await redis.GetDatabase().ExecuteAsync("SAVE"); // a snapshot now, as a backup job would take
            // The snapshot (written uncompressed by the test server) and the append-only log: everything Redis keeps on disk.
            var files = Directory.EnumerateFiles(TestServices.RedisDataDirectory, "*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".rdb", StringComparison.Ordinal) || f.Contains("appendonly", StringComparison.Ordinal))
                .ToList();
            var dump = files.SelectMany(File.ReadAllBytes).ToArray();

            Assert.Contains(stack.Settings["Portcullis:Store:KeyPrefix"]! + "session:", Encoding.UTF8.GetString(dump)); // our rows are in it
            AssertHoldsNone(dump, secrets);
        }
    }

    /// <summary>A stack on <paramref name="storeKind"/> where a user signed in and a refresh rotated the refresh token.</summary>
    private static async Task<(TestStack Stack, List<string> Secrets)> SignInAndRefreshAsync(string storeKind)
    {
        var upstream = await RecordingUpstream.StartAsync();
        var storeSettings = await GatewayCluster.StoreSettingsAsync(storeKind);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var stack = await TestStack.StartAsync(accessTokenTtl: 2, clock: clock, adjust: settings =>
        {
            TestStack.OrdersRoute(upstream.Url)(settings);
            foreach (var (key, value) in storeSettings)
            {
                settings[key] = value;
            }
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        clock.Advance(TimeSpan.FromSeconds(1.2)); // past the refresh point
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
        var tokens = await stack.Idp.TokensAsync();
        Assert.Contains(tokens, t => t.GrantType == "refresh_token");
        var secrets = (await stack.Idp.AllTokenValuesAsync()).ToList();
        secrets.Add(browser.CookiesFor("localhost")["__Host-portcullis"]);
        secrets.Add(storeSettings["Portcullis:KeyProtection:MasterKey"]!);
        secrets.Add("<masterKey"); // a Data Protection key in clear
        await upstream.DisposeAsync();
        return (stack, secrets);
    }

    /// <summary>Neither the value as text, nor as hex (how pg_dump writes bytea), nor as base64 appears.</summary>
    private static void AssertHoldsNone(byte[] dump, List<string> secrets)
    {
        var text = Encoding.Latin1.GetString(dump);
        foreach (var secret in secrets)
        {
            var bytes = Encoding.UTF8.GetBytes(secret);
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToHexStringLower(bytes), text, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToBase64String(bytes), text, StringComparison.Ordinal);
        }
    }
}
