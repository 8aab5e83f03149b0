using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.ScaleOut;

namespace Portcullis.Tests.Endpoints;

/// <summary>Issue 19: liveness and readiness, with the real PostgreSQL stopped and started again.</summary>
[Collection(RunsAloneCollection.Name)] // stops the shared PostgreSQL, like StoreRestartTests
public sealed class HealthTests
{
    [Fact]
    public async Task ReadyIs503WithinFiveSecondsWhileThePostgresStoreIsDownAndLiveStays200()
    {
        var storeSettings = await GatewayCluster.StoreSettingsAsync("postgres");
        await using var stack = await TestStack.StartAsync(adjust: settings =>
        {
            foreach (var (key, value) in storeSettings)
            {
                settings[key] = value;
            }
        });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        var (readyStatus, ready, _) = await GetAsync(http, $"{stack.Origin}/healthz/ready");
        Assert.Equal(HttpStatusCode.OK, readyStatus);
        Assert.Equal("ready", ready.GetProperty("status").GetString());
        var checks = ready.GetProperty("checks");
        Assert.Equal("ok", checks.GetProperty("store").GetString());
        Assert.Equal("ok", checks.GetProperty("key_ring").GetString());
        Assert.Equal("ok", checks.GetProperty("provider:main").GetString());
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, $"{stack.Origin}/healthz")).Status); // as before

        await TestServices.RunAsync("stop-postgres");
        try
        {
            var (downStatus, down, body) = await GetAsync(http, $"{stack.Origin}/healthz/ready");
            var watch = Stopwatch.StartNew();
            (downStatus, down, body) = await GetAsync(http, $"{stack.Origin}/healthz/ready");
            watch.Stop();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, downStatus);
            Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
            Assert.Equal("not_ready", down.GetProperty("status").GetString());
            Assert.NotEqual("ok", down.GetProperty("checks").GetProperty("store").GetString());
            Assert.Equal("ok", down.GetProperty("checks").GetProperty("provider:main").GetString());
            // Nothing of the connection string (host, port, user, database) or of an exception reaches the body.
            var connectionString = storeSettings["Portcullis:Store:ConnectionString"]!;
            foreach (var part in connectionString.Split(';').Select(p => p.Split('=')[1]).Where(v => v.Length > 2))
            {
                Assert.DoesNotContain(part, body);
            }

            Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, $"{stack.Origin}/healthz/live")).Status);
        }
        finally
        {
            await TestServices.RunAsync("start-postgres");
        }

        await Eventually.Until(async () => (await GetAsync(http, $"{stack.Origin}/healthz/ready")).Status, s => s == HttpStatusCode.OK, "ready again");
    }

    private static async Task<(HttpStatusCode Status, JsonElement Json, string Body)> GetAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(body).RootElement.Clone(), body);
    }
}
