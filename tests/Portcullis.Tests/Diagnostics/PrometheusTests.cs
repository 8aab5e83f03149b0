using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Diagnostics;

/// <summary>Issue 19: <c>Portcullis:Telemetry:Prometheus</c> serves the meter on <c>GET /metrics</c> of the running gateway.</summary>
public sealed class PrometheusTests
{
    [Fact]
    public async Task MetricsAreScrapedInPrometheusTextAfterALoginAndAProxiedCall()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            TestStack.OrdersRoute(upstream.Url)(s);
            s["Portcullis:Telemetry:Prometheus"] = "true";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);

        using var http = new HttpClient();
        var text = await Eventually.Until(
            () => http.GetStringAsync($"{stack.Origin}/metrics"),
            body => body.Contains("portcullis_proxy_requests", StringComparison.Ordinal),
            "the proxied call in the scrape");

        Assert.Contains("portcullis_logins_total{", text);
        Assert.Contains("outcome=\"success\"", text);
        Assert.Contains("portcullis_sessions_created_total{", text);
        Assert.Contains("route=\"orders\",status_class=\"2xx\"", text);
        Assert.Contains("portcullis_proxy_request_duration_seconds_bucket{", text);
        Assert.Contains("portcullis_store_operation_duration_seconds_bucket{", text);
        Assert.DoesNotContain("alice", text);
    }

    [Fact]
    public async Task WithoutTheSettingThereIsNoMetricsEndpoint()
    {
        await using var stack = await TestStack.StartAsync();
        using var http = new HttpClient();
        using var response = await http.GetAsync($"{stack.Origin}/metrics");
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
    }
}
