using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>
/// SECURITY.md items 31–32, with two authenticated routes on two upstreams and one unauthenticated route on a third:
/// no spelling of a path moves a request to another upstream or past authentication, and the request target cannot
/// choose the host. Requests go over a raw socket, because HttpClient would normalise the tricks away.
/// </summary>
public sealed class PathSafetyTests : IClassFixture<PathSafetyTests.ThreeRoutes>
{
    private readonly ProxyUpstream _orders;
    private readonly ProxyUpstream _reports;
    private readonly ProxyUpstream _public;
    private readonly TestStack _stack;

    public PathSafetyTests(ThreeRoutes routes)
    {
        (_orders, _reports, _public, _stack) = (routes.Orders, routes.Reports, routes.Public, routes.Stack);
        // One stack for the whole class (tests in a class run one at a time); each test starts from empty records.
        _orders.Requests.Clear();
        _reports.Requests.Clear();
        _public.Requests.Clear();
    }

    /// <summary>Two authenticated routes on two upstreams and an unauthenticated route on a third.</summary>
    public sealed class ThreeRoutes : IAsyncLifetime
    {
        public ProxyUpstream Orders { get; private set; } = null!;

        public ProxyUpstream Reports { get; private set; } = null!;

        public ProxyUpstream Public { get; private set; } = null!;

        public TestStack Stack { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Orders = await ProxyUpstream.StartAsync();
            Reports = await ProxyUpstream.StartAsync();
            Public = await ProxyUpstream.StartAsync();
            Stack = await TestStack.StartAsync(adjust: s =>
            {
                Routes.Add(s, "orders", "/api/orders", Orders.Url);
                Routes.Add(s, "reports", "/api/reports", Reports.Url);
                Routes.Add(s, "public", "/public", Public.Url, "none");
            });
        }

        public async Task DisposeAsync()
        {
            await Stack.DisposeAsync();
            await Orders.DisposeAsync();
            await Reports.DisposeAsync();
            await Public.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("/public/../api/orders")]
    [InlineData("/public/./../api/orders/1")]
    [InlineData("/public/%2e%2e/api/orders")]
    [InlineData("/public/%2E%2E/api/orders")]
    [InlineData("/public/.%2e/api/orders")]
    [InlineData("/public/..%2fapi%2forders")]
    [InlineData("/public/..%2Fapi%2Forders")]
    [InlineData("/public/..%5capi%5corders")]
    [InlineData("/public/..\\api\\orders")]
    [InlineData("/public//api/orders")]
    [InlineData("//public/../api/orders")]
    [InlineData("//api/orders")]
    [InlineData("/public/..;/api/orders")]
    [InlineData("/public/%252e%252e/api/orders")]
    [InlineData("/API/ORDERS")]
    [InlineData("/api/orders?route=/public")]
    [InlineData("/api/orders#/../../public")]
    [InlineData("/public#/../api/orders")]
    public async Task NoPathTrickReachesAnAuthenticatedUpstreamWithoutASession(string target)
    {
        var response = await RawHttp.SendAsync(_stack.Gateway.Port, target, Routes.Csrf());

        Assert.True(response.Status is 400 or 401 or 404, $"{target}: got {response.Status} {response.Body}");
        Assert.Empty(_orders.Requests);
        Assert.Empty(_reports.Requests);
        // Whatever reached the unauthenticated upstream stayed inside its own prefix and carried no dot segment.
        Assert.All(_public.Requests, r => Assert.StartsWith("/public/", r.PathAndQuery + "/", StringComparison.Ordinal));
        Assert.All(_public.Requests, r => Assert.DoesNotContain("..", r.PathAndQuery.Split('?')[0], StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/public?next=/api/orders", "/public?next=/api/orders")]
    [InlineData("/public/x?/../api/orders", "/public/x?/../api/orders")]
    [InlineData("/public/x?%2f..%2fapi%2forders", "/public/x?%2f..%2fapi%2forders")]
    public async Task AQueryNamingAnotherRouteStaysOnTheRouteOfThePath(string target, string expected)
    {
        var response = await RawHttp.SendAsync(_stack.Gateway.Port, target, Routes.Csrf());

        Assert.Equal(200, response.Status);
        var received = Assert.Single(_public.Requests);
        Assert.Equal(expected, received.PathAndQuery);
        Assert.Empty(_orders.Requests);
        Assert.Empty(_reports.Requests);
    }

    [Fact]
    public async Task ASignedInRequestGoesToTheUpstreamOfItsNormalisedPathOnly()
    {
        using var browser = new BrowserClient();
        await browser.LoginAsync(_stack.Origin);
        var cookie = $"__Host-portcullis={browser.CookiesFor("localhost")["__Host-portcullis"]}";

        var dotted = await RawHttp.SendAsync(_stack.Gateway.Port, "/api/orders/../reports/7", Routes.Csrf(("Cookie", cookie)));
        var encoded = await RawHttp.SendAsync(_stack.Gateway.Port, "/api/orders/..%2freports/7", Routes.Csrf(("Cookie", cookie)));

        Assert.Equal(200, dotted.Status);
        Assert.Equal(400, encoded.Status);
        Assert.Empty(_orders.Requests);
        var received = Assert.Single(_reports.Requests);
        Assert.Equal("/api/reports/7", received.PathAndQuery);
    }

    [Fact]
    public async Task AnAbsoluteFormRequestTargetCannotChooseTheUpstreamHost()
    {
        using var browser = new BrowserClient();
        await browser.LoginAsync(_stack.Origin);
        var cookie = $"__Host-portcullis={browser.CookiesFor("localhost")["__Host-portcullis"]}";

        // The target names the reports upstream's own host and port; only the path may count.
        var target = $"http://127.0.0.1:{_reports.Port}/api/orders/1";
        var sameHost = await RawHttp.SendAsync(_stack.Gateway.Port, target, Routes.Csrf(("Cookie", cookie), ("Host", $"127.0.0.1:{_reports.Port}")));
        var otherHost = await RawHttp.SendAsync(_stack.Gateway.Port, target, Routes.Csrf(("Cookie", cookie)));
        var forgedHost = await RawHttp.SendAsync(_stack.Gateway.Port, "/api/orders/1", Routes.Csrf(("Cookie", cookie), ("Host", "internal-admin.example")));

        Assert.Empty(_reports.Requests);
        Assert.Empty(_public.Requests);
        Assert.All(new[] { sameHost, otherHost, forgedHost }, r => Assert.True(r.Status is 200 or 400, $"got {r.Status}"));
        Assert.NotEmpty(_orders.Requests);
        Assert.All(_orders.Requests, r => Assert.Equal("/api/orders/1", r.PathAndQuery));
        Assert.All(_orders.Requests, r => Assert.Equal($"127.0.0.1:{_orders.Port}", r.Headers["Host"]));
    }
}
