using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>SECURITY.md items 6, 7, 33: refusals happen before anything is forwarded, and API callers never get a redirect.</summary>
public sealed class ProxyAdmissionTests
{
    [Fact]
    public async Task EveryMethodWithoutTheCsrfHeaderIsRefusedAndTheUpstreamSeesNothing()
    {
        await using var upstream = await ProxyUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s => Routes.Add(s, "orders", "/api/orders", upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        foreach (var method in new[] { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" })
        {
            var content = method is "GET" or "HEAD" ? null : new StringContent("{\"amount\":1}", System.Text.Encoding.UTF8, "application/json");
            var response = await browser.SendAsync(new HttpMethod(method), $"{stack.Origin}/api/orders/1", content);

            Assert.Equal(HttpStatusCode.Forbidden, response.Status);
            if (method != "HEAD")
            {
                Assert.Contains("\"error\":\"csrf_check_failed\"", response.Body);
            }
        }

        var wrongValue = await browser.GetAsync($"{stack.Origin}/api/orders/1", new Dictionary<string, string> { ["X-CSRF"] = "0" });
        Assert.Equal(HttpStatusCode.Forbidden, wrongValue.Status);
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task ACrossSiteRequestIsRefusedEvenWithTheCsrfHeaderAndTheUpstreamSeesNothing()
    {
        await using var upstream = await ProxyUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s => Routes.Add(s, "orders", "/api/orders", upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        foreach (var (header, value) in new[]
        {
            ("Origin", "https://evil.example"), ("Origin", "null"), ("Origin", "http://localhost:1"), ("Origin", stack.Origin + ".evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        })
        {
            var response = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/api/orders", new StringContent("{}"), Routes.Csrf((header, value)));

            Assert.Equal(HttpStatusCode.Forbidden, response.Status);
            Assert.Contains("\"error\":\"csrf_check_failed\"", response.Body);
        }

        Assert.Empty(upstream.Requests);
        var sameSite = await browser.GetAsync($"{stack.Origin}/api/orders", Routes.Csrf(("Origin", stack.Origin), ("Sec-Fetch-Site", "same-origin")));
        Assert.Equal(HttpStatusCode.OK, sameSite.Status);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task AnApiCallWithoutASessionGets401JsonNeverARedirect()
    {
        await using var upstream = await ProxyUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s => Routes.Add(s, "orders", "/api/orders", upstream.Url));
        using var browser = new BrowserClient();

        var response = await browser.GetAsync($"{stack.Origin}/api/orders", Routes.Csrf(("Accept", "text/html,application/xhtml+xml")));

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.False(response.Headers.ContainsKey("Location"));
        Assert.StartsWith("application/json", response.Headers["Content-Type"]);
        Assert.Contains("\"error\":\"unauthenticated\"", response.Body);
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task UserOptionalAndNoneRoutesForwardWithoutASessionAndWithoutAnyAuthorization()
    {
        await using var upstream = await ProxyUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            Routes.Add(s, "catalog", "/api/catalog", upstream.Url, "user-optional");
            Routes.Add(s, "status", "/status", upstream.Url, "none");
        });
        using var browser = new BrowserClient();

        var anonymous = await browser.GetAsync($"{stack.Origin}/api/catalog/1", Routes.Csrf(("Authorization", "Bearer forged")));
        Assert.Equal(HttpStatusCode.OK, anonymous.Status);
        await browser.LoginAsync(stack.Origin);
        var signedIn = await browser.GetAsync($"{stack.Origin}/api/catalog/2", BrowserClient.Csrf);
        var none = await browser.GetAsync($"{stack.Origin}/status", Routes.Csrf(("Authorization", "Bearer forged")));

        Assert.Equal(HttpStatusCode.OK, signedIn.Status);
        Assert.Equal(HttpStatusCode.OK, none.Status);
        var requests = upstream.Requests.ToArray();
        Assert.Equal(3, requests.Length);
        Assert.False(requests[0].Headers.ContainsKey("Authorization"));
        Assert.Equal($"Bearer {(await stack.Idp.TokensAsync()).Single().AccessToken}", requests[1].Headers["Authorization"]);
        Assert.False(requests[2].Headers.ContainsKey("Authorization"));
        Assert.All(requests, r => Assert.False(r.Headers.ContainsKey("Cookie")));
    }

    [Fact]
    public async Task AnUnreachableUpstreamGives502UpstreamUnavailable()
    {
        var closedPort = FreePort.Next();
        await using var stack = await TestStack.StartAsync(adjust: s => Routes.Add(s, "orders", "/api/orders", $"http://127.0.0.1:{closedPort}"));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        var response = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.BadGateway, response.Status);
        Assert.Contains("\"error\":\"upstream_unavailable\"", response.Body);
    }
}
