using System.Net;
using System.Net.WebSockets;
using System.Text;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>
/// WebSockets on routes that allow them: the token is attached at the upgrade, and since a browser cannot add X-CSRF to a
/// WebSocket handshake, the Origin it always sends is what is checked there.
/// </summary>
public sealed class WebSocketTests : IClassFixture<WebSocketTests.SignedInStack>
{
    private readonly ProxyUpstream _upstream;
    private readonly TestStack _stack;
    private readonly string _cookie;

    public WebSocketTests(SignedInStack fixture)
    {
        (_upstream, _stack, _cookie) = (fixture.Upstream, fixture.Stack, fixture.Cookie);
        _upstream.Requests.Clear();
    }

    /// <summary>A WebSocket route and a plain route on one echoing upstream, and a signed-in user's cookie.</summary>
    public sealed class SignedInStack : IAsyncLifetime
    {
        public ProxyUpstream Upstream { get; private set; } = null!;

        public TestStack Stack { get; private set; } = null!;

        public string Cookie { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Upstream = await ProxyUpstream.StartAsync();
            Stack = await TestStack.StartAsync(adjust: s =>
            {
                Routes.Add(s, "live", "/api/live", Upstream.Url);
                s["Portcullis:Apis:live:WebSockets"] = "true";
                Routes.Add(s, "orders", "/api/orders", Upstream.Url);
            });
            using var browser = new BrowserClient();
            await browser.LoginAsync(Stack.Origin);
            Cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        }

        public async Task DisposeAsync()
        {
            await Stack.DisposeAsync();
            await Upstream.DisposeAsync();
        }
    }

    [Fact]
    public async Task MessagesEchoThroughTheProxyAndTheUpstreamSawTheTokenAtTheUpgrade()
    {
        using var socket = NewSocket(_stack.Origin);
        await socket.ConnectAsync(new Uri($"ws://localhost:{_stack.Gateway.Port}/api/live/feed"), CancellationToken.None);

        foreach (var message in new[] { "hello", "second message" })
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, CancellationToken.None);
            var buffer = new byte[1024];
            var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
            Assert.Equal(message, Encoding.UTF8.GetString(buffer, 0, received.Count));
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        var upgrade = Assert.Single(_upstream.Requests);
        Assert.True(upgrade.IsWebSocket);
        Assert.Equal("/api/live/feed", upgrade.PathAndQuery);
        var accessToken = (await _stack.Idp.TokensAsync()).Single().AccessToken!;
        Assert.Equal($"Bearer {accessToken}", upgrade.Headers["Authorization"]);
        Assert.True(await _stack.Idp.IsActiveAsync(accessToken));
        Assert.False(upgrade.Headers.ContainsKey("Cookie"));
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData(null)]
    public async Task AnUpgradeFromAForeignOrWithoutOriginIsRefusedAndTheUpstreamSeesNothing(string? origin)
    {
        using var socket = NewSocket(origin);

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(new Uri($"ws://localhost:{_stack.Gateway.Port}/api/live"), CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
        Assert.Empty(_upstream.Requests);
    }

    [Fact]
    public async Task AnUpgradeOnARouteWithoutWebSocketsIsRefusedAndTheUpstreamSeesNothing()
    {
        using var socket = NewSocket(_stack.Origin);

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(new Uri($"ws://localhost:{_stack.Gateway.Port}/api/orders"), CancellationToken.None));

        Assert.Equal(HttpStatusCode.BadRequest, socket.HttpStatusCode);
        Assert.Empty(_upstream.Requests);
    }

    [Theory]
    [InlineData("/api/orders")]
    [InlineData("/api/live")]
    public async Task AnUpgradeToAnotherProtocolIsRefusedOnEveryRouteAndTheUpstreamSeesNothing(string path)
    {
        // YARP also tunnels SPDY upgrades: with the user's token, past WebSockets: false and the body limits.
        var response = await RawHttp.SendAsync(_stack.Gateway.Port, path, new Dictionary<string, string>
        {
            ["Connection"] = "Upgrade, close",
            ["Upgrade"] = "SPDY/3.1",
            ["Cookie"] = $"__Host-portcullis={_cookie}",
            ["X-CSRF"] = "1",
            ["Origin"] = _stack.Origin,
        });

        Assert.Equal(400, response.Status);
        Assert.Contains("\"error\":\"invalid_request\"", response.Body);
        Assert.Empty(_upstream.Requests);
    }

    [Fact]
    public async Task AnUpgradeWithoutASessionGets401()
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Origin", _stack.Origin);

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(new Uri($"ws://localhost:{_stack.Gateway.Port}/api/live"), CancellationToken.None));

        Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);
        Assert.Empty(_upstream.Requests);
    }

    private ClientWebSocket NewSocket(string? origin)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Cookie", $"__Host-portcullis={_cookie}");
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        return socket;
    }
}
