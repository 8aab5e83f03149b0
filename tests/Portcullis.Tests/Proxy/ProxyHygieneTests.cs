using System.Net;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

public sealed class ProxyHygieneTests
{
    [Fact]
    public async Task TheUpstreamGetsTheBearerTokenAndNoneOfTheBrowsersCredentialsOrForgedIdentityHeaders()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: TestStack.OrdersRoute(upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        string[] forged =
        [
            "X-Forwarded-User", "x-forwarded-user", "X_Forwarded_User", "X-Forwarded-For", "X-Real-IP", "Forwarded",
            "X-Authenticated-User", "X-WEBAUTH-USER", "X-MS-CLIENT-PRINCIPAL-NAME", "X-Goog-Authenticated-User-Email",
            "X-Amzn-Oidc-Identity", "X-Consumer-Username", "X-Email", "X-User", "Remote-User", "X-Access-Token",
            "X-FORWARDED-HOST", "x_real_ip", "X-Forwarded-Proto", "X-Original-URL", "X-Rewrite-URL", "X-Portcullis-User",
            "Proxy-Authorization", "X_AUTH_REQUEST_USER", "X-Auth-Request-Email", "CF-Connecting-IP", "Via",
        ];
        var headers = forged.ToDictionary(h => h, _ => "admin");
        headers["X-CSRF"] = "1";
        headers["Authorization"] = "Bearer forged-by-the-browser";
        headers["Accept"] = "application/json";

        var response = await browser.SendAsync(HttpMethod.Get, $"{stack.Origin}/api/orders/7?x=1", null, headers);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var received = Assert.Single(upstream.Requests);
        Assert.Equal("/api/orders/7?x=1", received.PathAndQuery);
        var accessToken = (await stack.Idp.TokensAsync()).Single().AccessToken;
        Assert.Equal($"Bearer {accessToken}", received.Headers["Authorization"]);
        Assert.True(await stack.Idp.IsActiveAsync(accessToken!));
        Assert.False(received.Headers.ContainsKey("Cookie"));
        Assert.False(received.Headers.ContainsKey("X-CSRF"));
        Assert.Equal(new Uri(upstream.Url).Authority, received.Headers["Host"]);
        Assert.Equal("application/json", received.Headers["Accept"]);
        foreach (var name in forged)
        {
            Assert.DoesNotContain(received.Headers.Keys, k => k.Replace('_', '-').Equals(name.Replace('_', '-'), StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public async Task AForgedIdentityHeaderWhoseNameIsNoHttpTokenIsDroppedNotAnsweredAsAnUpstreamFailure()
    {
        // Kestrel accepts these names; HttpHeaders refuses them, so they are never copied upstream. Stripping must not
        // turn them into an exception (502 upstream_unavailable, a log line per request the browser chooses).
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            s["Portcullis:Apis:open:Path"] = "/api/open";
            s["Portcullis:Apis:open:Upstream"] = upstream.Url;
            s["Portcullis:Apis:open:Token"] = "none";
        });
        var port = new Uri(stack.Origin).Port;
        string[] names = ["X-User(x)", "X-Forwarded-User\"", "X-Auth{", "X-Email@x"];

        var statuses = new List<int>();
        foreach (var name in names)
        {
            statuses.Add((await RawHttp.SendAsync(port, "/api/open/1", new Dictionary<string, string> { ["X-CSRF"] = "1", [name] = "admin" })).Status);
        }

        Assert.All(statuses, status => Assert.Equal(200, status));
        Assert.Equal(names.Length, upstream.Requests.Count);
        Assert.All(upstream.Requests, r => Assert.DoesNotContain(r.Headers.Keys, k => names.Contains(k, StringComparer.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task EncodedSeparatorsAreRefusedAndNeverForwarded()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: TestStack.OrdersRoute(upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        foreach (var path in new[] { "/api/orders/..%2F..%2Fadmin", "/api/orders/..%5C..%5Cadmin", "/api/orders/%2e%2e/admin" })
        {
            var response = await browser.GetAsync(stack.Origin + path, BrowserClient.Csrf);

            Assert.True(response.Status is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{path}: got {(int)response.Status}");
        }

        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task AProviderThatIsDownDuringRefreshGives503WithRetryAfterAndKeepsTheSession()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 2, clock: clock, adjust: TestStack.OrdersRoute(upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        await stack.Idp.DisposeAsync(); // the provider goes away
        clock.Advance(TimeSpan.FromSeconds(1.2)); // past the refresh point
        var response = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.Status);
        Assert.Contains("\"error\":\"provider_unavailable\"", response.Body);
        Assert.True(int.Parse(response.Headers["Retry-After"]) > 0);
        Assert.Empty(upstream.Requests);
        Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM sessions"));
        Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM grants"));
    }
}
