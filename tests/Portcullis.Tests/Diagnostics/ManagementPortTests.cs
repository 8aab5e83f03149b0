using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Diagnostics;

/// <summary>
/// Issue 19: <c>Portcullis:Management:Urls</c> opens a second listener that serves <c>/metrics</c> (there only) and the
/// health endpoints, and nothing of the app; the main port no longer serves <c>/metrics</c>, whatever Host header says.
/// </summary>
public sealed class ManagementPortTests
{
    [Fact]
    public async Task MetricsAreServedOnTheManagementPortOnlyAndTheAppIsNotServedThere()
    {
        var managementPort = FreePort.Next();
        var management = $"http://localhost:{managementPort}";
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            TestStack.OrdersRoute(upstream.Url)(s);
            s["Portcullis:Telemetry:Prometheus"] = "true";
            s["Portcullis:Management:Urls"] = management;
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);

        using var http = new HttpClient();
        var scrape = await Eventually.Until(
            () => http.GetStringAsync($"{management}/metrics"),
            body => body.Contains("portcullis_proxy_requests", StringComparison.Ordinal),
            "the proxied call in the scrape on the management port");
        Assert.Contains("portcullis_logins_total{", scrape);

        // The main port: no scrape endpoint, in any spelling, even when the Host header names the management port.
        foreach (var path in new[] { "/metrics", "/METRICS", "/metrics/" })
        {
            using var onMain = await http.GetAsync(stack.Origin + path);
            Assert.Equal(HttpStatusCode.NotFound, onMain.StatusCode);
        }

        using var spoofed = new HttpRequestMessage(HttpMethod.Get, $"{stack.Origin}/metrics");
        spoofed.Headers.Host = $"localhost:{managementPort}";
        using var spoofedAnswer = await http.SendAsync(spoofed);
        Assert.Equal(HttpStatusCode.NotFound, spoofedAnswer.StatusCode);

        // Health on both; the app on the main port only.
        foreach (var origin in new[] { stack.Origin, management })
        {
            using var live = await http.GetAsync($"{origin}/healthz/live");
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            using var ready = await http.GetAsync($"{origin}/healthz/ready");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        foreach (var path in new[] { "/bff/user", "/bff/login", "/api/orders/1" })
        {
            var onManagement = await browser.GetAsync(management + path, BrowserClient.Csrf);
            Assert.Equal(HttpStatusCode.NotFound, onManagement.Status);
        }

        Assert.Single(upstream.Requests, r => r.PathAndQuery == "/api/orders/1"); // only the call on the main port
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Theory]
    [InlineData("not a url", "must be an http or https address with an explicit port")]
    [InlineData("http://127.0.0.1", "must be an http or https address with an explicit port")]
    [InlineData("http://127.0.0.1:9090/metrics", "must be an http or https address with an explicit port")]
    [InlineData("SAME", "is also the main port")]
    public async Task AWrongManagementAddressStopsStartUpNamingTheKey(string urls, string expected)
    {
        var port = FreePort.Next();
        var data = Directory.CreateTempSubdirectory("portcullis-management-").FullName;
        await using var idp = await TestIdp.StartAsync([$"http://localhost:{port}"]);
        var settings = GatewayHost.DefaultSettings(port, idp, data);
        settings["Portcullis:Management:Urls"] = urls == "SAME" ? $"http://127.0.0.1:{port}" : urls;

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(settings, port, data));
        Assert.Contains("Portcullis:Management:Urls", refused.Message);
        Assert.Contains(expected, refused.Message);
    }
}
