using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>
/// <c>X-Forwarded-For</c> counts only from <c>TrustedProxies</c>. Observed through the per-address login rate limit, which
/// partitions by <c>HttpContext.Connection.RemoteIpAddress</c>: believed headers give each claimed client its own budget.
/// </summary>
public sealed class TrustedProxyTests
{
    [Fact]
    public async Task WithoutTrustedProxiesForwardedForIsIgnored()
    {
        await using var stack = await TestStack.StartAsync(adjust: s => s["Portcullis:RateLimit:LoginPerMinute"] = "2");
        using var browser = new BrowserClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            var response = await browser.GetAsync($"{stack.Origin}/bff/login", new Dictionary<string, string> { ["X-Forwarded-For"] = $"203.0.113.{i}" });
            statuses.Add(response.Status);
        }

        // One budget for the one real address, whatever the header claims.
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[2]);
    }

    [Fact]
    public async Task FromATrustedProxyTheForwardedClientAddressCountsAndIsNeverPassedUpstream()
    {
        await using var upstream = await ProxyUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            s["Portcullis:RateLimit:LoginPerMinute"] = "2";
            s["Portcullis:TrustedProxies:0"] = "127.0.0.1";
            s["Portcullis:TrustedProxies:1"] = "::1";
            Routes.Add(s, "public", "/public", upstream.Url, "none");
        });
        using var browser = new BrowserClient();

        for (var i = 0; i < 3; i++)
        {
            var response = await browser.GetAsync($"{stack.Origin}/bff/login", new Dictionary<string, string> { ["X-Forwarded-For"] = $"203.0.113.{i}" });
            Assert.NotEqual(HttpStatusCode.TooManyRequests, response.Status);
        }

        await browser.GetAsync($"{stack.Origin}/public", Routes.Csrf(("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.example")));
        var received = Assert.Single(upstream.Requests);
        Assert.DoesNotContain(received.Headers.Keys, k => k.StartsWith("X-Forwarded", StringComparison.OrdinalIgnoreCase) || k.StartsWith("X-Original", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task AnAddressOutsideTheTrustedNetworksIsNotBelieved()
    {
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            s["Portcullis:RateLimit:LoginPerMinute"] = "2";
            s["Portcullis:TrustedProxies:0"] = "10.0.0.0/8";
        });
        using var browser = new BrowserClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            statuses.Add((await browser.GetAsync($"{stack.Origin}/bff/login", new Dictionary<string, string> { ["X-Forwarded-For"] = $"203.0.113.{i}" })).Status);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[2]);
    }
}
