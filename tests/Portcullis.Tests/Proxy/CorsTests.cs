using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>SECURITY.md items 8 and 33: CORS for the configured app origins only, answered by the gateway itself.</summary>
public sealed class CorsTests : IClassFixture<CorsTests.AppOriginStack>
{
    private const string AppOrigin = "https://app.example.com";
    private readonly ProxyUpstream _upstream;
    private readonly TestStack _stack;

    public CorsTests(AppOriginStack fixture)
    {
        (_upstream, _stack) = (fixture.Upstream, fixture.Stack);
        _upstream.Requests.Clear();
    }

    /// <summary>A gateway allowing <see cref="AppOrigin"/>, in front of an upstream that tries to open itself to everyone.</summary>
    public sealed class AppOriginStack : IAsyncLifetime
    {
        public ProxyUpstream Upstream { get; private set; } = null!;

        public TestStack Stack { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Upstream = await ProxyUpstream.StartAsync(async (context, _) =>
            {
                context.Response.Headers.AccessControlAllowOrigin = "*";
                context.Response.Headers.AccessControlAllowCredentials = "true";
                await context.Response.WriteAsync("{}");
            });
            Stack = await TestStack.StartAsync(adjust: s =>
            {
                Routes.Add(s, "orders", "/api/orders", Upstream.Url);
                s["Portcullis:Csrf:AllowedOrigins:0"] = AppOrigin;
            });
        }

        public async Task DisposeAsync()
        {
            await Stack.DisposeAsync();
            await Upstream.DisposeAsync();
        }
    }

    [Fact]
    public async Task APreflightFromAnAllowedOriginSucceedsWithoutTouchingTheUpstream()
    {
        using var browser = new BrowserClient();

        var response = await browser.SendAsync(HttpMethod.Options, $"{_stack.Origin}/api/orders/1", null, new Dictionary<string, string>
        {
            ["Origin"] = AppOrigin,
            ["Access-Control-Request-Method"] = "DELETE",
            ["Access-Control-Request-Headers"] = "x-csrf, content-type",
        });

        Assert.Equal(HttpStatusCode.NoContent, response.Status);
        Assert.Equal(AppOrigin, response.Headers["Access-Control-Allow-Origin"]);
        Assert.Equal("true", response.Headers["Access-Control-Allow-Credentials"]);
        Assert.Contains("DELETE", response.Headers["Access-Control-Allow-Methods"]);
        Assert.Contains("x-csrf", response.Headers["Access-Control-Allow-Headers"], StringComparison.OrdinalIgnoreCase);
        Assert.Empty(_upstream.Requests);
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("https://app.example.com.evil.example")]
    [InlineData("http://app.example.com")]
    [InlineData("null")]
    public async Task APreflightFromAnotherOriginGetsNoAllowOriginAndTheUpstreamSeesNothing(string origin)
    {
        using var browser = new BrowserClient();

        var response = await browser.SendAsync(HttpMethod.Options, $"{_stack.Origin}/api/orders", null, new Dictionary<string, string>
        {
            ["Origin"] = origin,
            ["Access-Control-Request-Method"] = "POST",
            ["Access-Control-Request-Headers"] = "x-csrf",
        });

        Assert.False(response.Headers.ContainsKey("Access-Control-Allow-Origin"));
        Assert.False(response.Headers.ContainsKey("Access-Control-Allow-Credentials"));
        Assert.Empty(_upstream.Requests);
    }

    [Fact]
    public async Task ErrorsCarryCorsHeadersForAnAllowedOriginSoTheAppCanReadThem()
    {
        using var browser = new BrowserClient();

        var unauthenticated = await browser.GetAsync($"{_stack.Origin}/api/orders", Routes.Csrf(("Origin", AppOrigin)));
        var csrf = await browser.GetAsync($"{_stack.Origin}/api/orders", new Dictionary<string, string> { ["Origin"] = AppOrigin });
        var bffUser = await browser.GetAsync($"{_stack.Origin}/bff/user", Routes.Csrf(("Origin", AppOrigin)));

        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.Status);
        Assert.Equal(HttpStatusCode.Forbidden, csrf.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, bffUser.Status);
        foreach (var response in new[] { unauthenticated, csrf, bffUser })
        {
            Assert.Equal(AppOrigin, response.Headers["Access-Control-Allow-Origin"]);
            Assert.Equal("true", response.Headers["Access-Control-Allow-Credentials"]);
        }

        Assert.Empty(_upstream.Requests);
    }

    [Fact]
    public async Task ProxiedAnswersCarryTheGatewaysCorsDecisionNotTheUpstreams()
    {
        using var browser = new BrowserClient();
        await browser.LoginAsync(_stack.Origin);

        var fromApp = await browser.GetAsync($"{_stack.Origin}/api/orders", Routes.Csrf(("Origin", AppOrigin)));
        var sameOrigin = await browser.GetAsync($"{_stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, fromApp.Status);
        Assert.Equal(AppOrigin, fromApp.Headers["Access-Control-Allow-Origin"]);
        Assert.Equal(HttpStatusCode.OK, sameOrigin.Status);
        Assert.False(sameOrigin.Headers.ContainsKey("Access-Control-Allow-Origin"));
        Assert.Equal(2, _upstream.Requests.Count);
    }
}
