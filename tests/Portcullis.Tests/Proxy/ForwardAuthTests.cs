using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>
/// Forward-auth (issue 20 item 1) behind a real nginx with <c>auth_request</c>, configured as docs/deploy.md shows: nginx
/// asks the gateway about each <c>/api/</c> request from 127.0.0.2 (the only trusted proxy) and forwards it to the upstream
/// itself with the header the gateway answered. The browser (and any other client) connects from 127.0.0.1.
/// </summary>
public sealed class ForwardAuthTests(ForwardAuthTests.World world) : IClassFixture<ForwardAuthTests.World>
{
    private static readonly IPAddress ProxyAddress = IPAddress.Parse("127.0.0.2");

    private const string Ledger = "https://ledger.test/";

    [Fact]
    public async Task ASignedInRequestThroughNginxReachesTheUpstreamWithTheUsersTokenAndWithoutTheBrowsersCredentials()
    {
        using var browser = new BrowserClient();
        await browser.LoginAsync(world.Stack.Origin);
        var token = (await world.Stack.Idp.TokensAsync()).Last().AccessToken;
        world.Upstream.Requests.Clear();

        var read = await browser.GetAsync($"{world.Nginx.Origin}/api/orders/7?page=2", Routes.Csrf(("Authorization", "Bearer forged")));
        var write = await browser.SendAsync(HttpMethod.Post, $"{world.Nginx.Origin}/api/orders", new StringContent("{\"amount\":3}"), BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal(HttpStatusCode.OK, write.Status);
        var requests = world.Upstream.Requests.ToArray();
        Assert.Equal(["GET /api/orders/7?page=2", "POST /api/orders"], requests.Select(r => $"{r.Method} {r.PathAndQuery}"));
        Assert.Equal(12, requests[1].BodyLength);
        Assert.All(requests, r =>
        {
            Assert.Equal($"Bearer {token}", r.Headers["Authorization"]);
            Assert.False(r.Headers.ContainsKey("Cookie"));
            Assert.False(r.Headers.ContainsKey("X-CSRF"));
        });
        Assert.DoesNotContain(browser.Responses, r => r.Body.Contains(token!, StringComparison.Ordinal) || r.Headers.Values.Any(v => v.Contains(token!, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task WithoutASessionNginxAnswers401AndTheUpstreamSeesNothing()
    {
        using var browser = new BrowserClient();
        world.Upstream.Requests.Clear();

        var response = await browser.GetAsync($"{world.Nginx.Origin}/api/orders/7", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Contains("\"error\":\"unauthenticated\"", response.Body);
        Assert.Empty(world.Upstream.Requests);
    }

    [Fact]
    public async Task AStateChangeWithoutTheCsrfHeaderOrFromAnotherSiteIsRefusedAndTheUpstreamSeesNothing()
    {
        using var browser = await SignedInAsync();

        var noHeader = await browser.SendAsync(HttpMethod.Post, $"{world.Nginx.Origin}/api/orders", new StringContent("{}"));
        var crossSite = await browser.SendAsync(HttpMethod.Delete, $"{world.Nginx.Origin}/api/orders/7", null, Routes.Csrf(("Origin", "https://evil.example")));

        Assert.Equal(HttpStatusCode.Forbidden, noHeader.Status);
        Assert.Equal(HttpStatusCode.Forbidden, crossSite.Status);
        Assert.Empty(world.Upstream.Requests);
    }

    [Fact]
    public async Task TheRoutesPolicyIsAppliedAsByTheProxy()
    {
        using var browser = await SignedInAsync();

        var viaNginx = await browser.GetAsync($"{world.Nginx.Origin}/api/admin/users", BrowserClient.Csrf);
        var viaGateway = await browser.GetAsync($"{world.Stack.Origin}/api/admin/users", BrowserClient.Csrf);
        var asked = await AskAsProxyAsync(browser, ("X-Original-URI", "/api/admin/users"), ("X-Original-Method", "GET"));

        Assert.Equal(HttpStatusCode.Forbidden, viaNginx.Status);
        Assert.Equal(HttpStatusCode.Forbidden, viaGateway.Status);
        Assert.Equal(403, asked.Status);
        Assert.Contains(viaGateway.Body, asked.Body); // the same refusal, word for word (the raw answer is chunked)
        Assert.Empty(world.Upstream.Requests);
    }

    [Fact]
    public async Task AClientThatIsNotATrustedProxyGetsNoTokenWhateverItForges()
    {
        using var browser = new BrowserClient();
        await browser.LoginAsync(world.Stack.Origin);
        var headers = Routes.Csrf(("Cookie", SessionCookie(browser)), ("X-Original-URI", "/api/orders/7"), ("X-Original-Method", "GET"), ("X-Forwarded-For", "127.0.0.2"));

        // Straight to the gateway from 127.0.0.1, which is not in TrustedProxies, claiming to be the proxy.
        var direct = await RawHttp.SendAsync(world.AuthPort, "/bff/forward-auth", headers);
        // Through nginx, a forged X-Original-URI naming a route the user may use, on a request to one they may not.
        world.Upstream.Requests.Clear();
        using var viaNginx = new BrowserClient();
        viaNginx.CookiesFor("localhost")["__Host-portcullis"] = browser.CookiesFor("localhost")["__Host-portcullis"];
        var forged = await viaNginx.GetAsync($"{world.Nginx.Origin}/api/admin/users", Routes.Csrf(("X-Original-URI", "/api/orders/7"), ("X-Forwarded-Uri", "/api/orders/7")));

        Assert.Equal(403, direct.Status);
        Assert.Contains("\"error\":\"forbidden\"", direct.Body);
        Assert.DoesNotContain("Authorization:", direct.Head, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain((await world.Stack.Idp.TokensAsync()).Select(t => t.AccessToken), t => direct.Head.Contains(t!) || direct.Body.Contains(t!));
        Assert.Equal(HttpStatusCode.Forbidden, forged.Status);
        Assert.Empty(world.Upstream.Requests);
    }

    /// <summary>
    /// The usual set-up: the proxy forwards the browser's <c>/bff/</c> traffic too, so a script in the page that asks for
    /// the endpoint through it connects from the trusted proxy's address. Only the forward-auth port answers, and no
    /// spelling of the path reaches it from the main port (review of 2026-12-07: all three got 200 and the token).
    /// </summary>
    [Fact]
    public async Task ABrowserAskingThroughTheProxysBffRouteGetsNoTokenWhateverTheSpelling()
    {
        using var browser = new BrowserClient();
        await browser.LoginAsync(world.Stack.Origin);
        var tokens = (await world.Stack.Idp.TokensAsync()).Select(t => t.AccessToken!).ToList();

        // The /bff/ route through nginx works: what follows is refused by the gateway, not lost on the way.
        var user = await browser.GetAsync($"{world.Nginx.Origin}/bff/user", BrowserClient.Csrf);
        var asked = new[]
        {
            await browser.GetAsync($"{world.Nginx.Origin}/bff/forward-auth", Routes.Csrf(("X-Original-URI", "/api/orders/7"), ("X-Original-Method", "GET"))),
            await browser.GetAsync($"{world.Nginx.Origin}/bff/forward-auth/api/orders/7", BrowserClient.Csrf),
            await browser.GetAsync($"{world.Nginx.Origin}/bff/Forward-Auth/api/orders/7", BrowserClient.Csrf),
        };

        Assert.Equal(HttpStatusCode.OK, user.Status);
        Assert.All(asked, response =>
        {
            Assert.Equal(HttpStatusCode.NotFound, response.Status);
            Assert.Contains("\"error\":\"not_found\"", response.Body);
            Assert.False(response.Headers.ContainsKey("Authorization"));
            Assert.DoesNotContain(tokens, t => response.Body.Contains(t, StringComparison.Ordinal) || response.Headers.Values.Any(v => v.Contains(t, StringComparison.Ordinal)));
        });
        // The same question on the forward-auth port from the proxy's address is answered: the port is what differs.
        Assert.Equal(200, (await AskAsProxyAsync(browser, ("X-Original-URI", "/api/orders/7"), ("X-Original-Method", "GET"))).Status);
    }

    [Theory]
    [InlineData("main")]
    [InlineData("management")]
    public async Task AForwardAuthPortThatIsAlsoAnotherListenersStopsStartUpNamingTheKey(string shared)
    {
        var port = FreePort.Next();
        var management = FreePort.Next();
        var data = Directory.CreateTempSubdirectory("portcullis-forward-auth-").FullName;
        await using var idp = await TestIdp.StartAsync([$"http://localhost:{port}"]);
        var settings = GatewayHost.DefaultSettings(port, idp, data);
        settings["Portcullis:Management:Urls"] = $"http://127.0.0.1:{management}";
        settings["Portcullis:TrustedProxies:0"] = ProxyAddress.ToString();
        settings["Portcullis:ForwardAuth:Enabled"] = "true";
        settings["Portcullis:ForwardAuth:Port"] = (shared == "main" ? port : management).ToString(System.Globalization.CultureInfo.InvariantCulture);

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(settings, port, data));

        Assert.Contains("Portcullis:ForwardAuth:Port", refused.Message);
        Assert.Contains("needs a port of its own", refused.Message);
    }

    [Fact]
    public async Task TraefikAndEnvoyDescriptionsAreReadAndTwoDescriptionsAtOnceAreRefused()
    {
        using var browser = new BrowserClient();
        await browser.LoginAsync(world.Stack.Origin);
        var token = (await world.Stack.Idp.TokensAsync()).Last().AccessToken;

        var traefik = await AskAsProxyAsync(browser, ("X-Forwarded-Uri", "/api/orders/7"), ("X-Forwarded-Method", "DELETE"), ("X-Forwarded-Host", "app.example"));
        var envoy = await AskAsProxyAsync(browser, "/bff/forward-auth/api/orders/7?x=1", "DELETE");
        var both = await AskAsProxyAsync(browser, ("X-Original-URI", "/api/admin/users"), ("X-Forwarded-Uri", "/api/orders/7"));
        var envoyAndHeader = await AskAsProxyAsync(browser, "/bff/forward-auth/api/admin/users", "GET", ("X-Forwarded-Uri", "/api/orders/7"));

        Assert.Equal(200, traefik.Status);
        Assert.Contains($"Authorization: Bearer {token}\r\n", traefik.Head);
        Assert.Equal(200, envoy.Status);
        Assert.Contains($"Authorization: Bearer {token}\r\n", envoy.Head);
        foreach (var refused in new[] { both, envoyAndHeader })
        {
            Assert.Equal(400, refused.Status);
            Assert.Contains("\"error\":\"invalid_request\"", refused.Body);
            Assert.DoesNotContain("Authorization:", refused.Head, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task AnOriginalPathThatCouldMeanAnotherRouteOrNoneIsRefused()
    {
        using var browser = new BrowserClient();
        await browser.LoginAsync(world.Stack.Origin);

        foreach (var uri in new[] { "/api/orders/../admin/users", "/api/orders/%2e%2e/admin", "/api/orders/%2fadmin", "/api/orders//x", "/api/orders/./x", "api/orders", "/api/orders/%00" })
        {
            var response = await AskAsProxyAsync(browser, ("X-Original-URI", uri));
            Assert.True(response.Status == 400, $"{uri}: {response.Status}");
            Assert.DoesNotContain("Authorization:", response.Head, StringComparison.OrdinalIgnoreCase);
        }

        var noRoute = await AskAsProxyAsync(browser, ("X-Original-URI", "/api/ordersx/1"));
        Assert.Equal(403, noRoute.Status);
        Assert.DoesNotContain("Authorization:", noRoute.Head, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ATokenDueForRefreshIsRefreshedOnceAndTheNewOneIsAnswered()
    {
        using var browser = new BrowserClient();
        await browser.LoginAsync(world.Stack.Origin);
        var before = (await world.Stack.Idp.TokensAsync()).Length;
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{world.Nginx.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
        world.Clock.Advance(TimeSpan.FromSeconds(61)); // the 120 s token is due one minute before it expires; the provider still honours it
        world.Upstream.Requests.Clear();

        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => browser.GetAsync($"{world.Nginx.Origin}/api/orders/{i}", BrowserClient.Csrf)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        var issued = (await world.Stack.Idp.TokensAsync()).Skip(before).ToArray();
        var refreshed = Assert.Single(issued);
        Assert.Equal("refresh_token", refreshed.GrantType);
        Assert.All(world.Upstream.Requests, r => Assert.Equal($"Bearer {refreshed.AccessToken}", r.Headers["Authorization"]));
    }

    /// <summary>A route with its own <c>Resource</c> (ADR 0043): the answer carries the grant's token for that resource alone.</summary>
    [Fact]
    public async Task ARequestToAResourceRouteIsAnsweredWithTheResourcesTokenNeverTheSignInsOwn()
    {
        using var browser = await SignedInAsync();
        var own = (await world.Stack.Idp.TokensAsync()).Last(t => t.GrantType == "authorization_code").AccessToken;

        var response = await browser.GetAsync($"{world.Nginx.Origin}/api/ledger/1", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var sent = Assert.Single(world.Upstream.Requests).Headers;
        var token = Assert.Single(await RouteAudienceTests.AssertAudienceAsync([sent], await RouteAudienceTests.ProviderKeysAsync(world.Stack), world.Stack.Idp.Issuer, Ledger));
        Assert.NotEqual(own, token);
        var minted = (await world.Stack.Idp.TokensAsync()).Last();
        Assert.Equal(("refresh_token", token), (minted.GrantType, minted.AccessToken));
    }

    [Fact]
    public async Task AnAssertionRouteGetsTheSignedIdentityInItsHeaderAndNoToken()
    {
        // A world of its own on the real clock: the verifier checks the assertion's lifetime against it.
        await using var upstream = await ProxyUpstream.StartAsync();
        var keyFile = Path.Combine(Directory.CreateTempSubdirectory("portcullis-assertion-").FullName, "assertion.pem");
        using (var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        }

        var (stack, nginx) = await StartFrontedAsync(upstream.Url, s =>
        {
            s["Portcullis:Assertions:SigningKey"] = keyFile;
            s["Portcullis:Assertions:SigningKeyId"] = "assertion-1";
            Routes.Add(s, "reports", "/api/reports", upstream.Url, "assertion");
        });
        await using var _ = stack;
        await using var __ = nginx;
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        var response = await browser.GetAsync($"{nginx.Origin}/api/reports/1", Routes.Csrf(("X-Portcullis-Assertion", "forged-by-the-browser")));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var received = Assert.Single(upstream.Requests);
        Assert.False(received.Headers.ContainsKey("Authorization"));
        var verified = await IdentityAssertionTests.VerifyAsync(
            received.Headers["X-Portcullis-Assertion"], await IdentityAssertionTests.FetchJwksAsync(stack.Origin), stack.Origin, audience: "reports");
        Assert.True(verified.IsValid, verified.Exception?.Message);
    }

    [Fact]
    public async Task WithDPoPTheAnswerIsTheDPoPPairAndTheUpstreamAcceptsTheProofNginxForwards()
    {
        await using var api = await Fapi.DPoPResourceServer.StartAsync();
        var (stack, nginx) = await StartFrontedAsync(api.Url, s => s["Portcullis:Providers:main:DPoP"] = "true");
        await using var _ = stack;
        await using var __ = nginx;
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        var read = await browser.GetAsync($"{nginx.Origin}/api/orders/1", BrowserClient.Csrf);
        var write = await browser.SendAsync(HttpMethod.Put, $"{nginx.Origin}/api/orders/2", new StringContent("{}"), BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal(HttpStatusCode.OK, write.Status);
        // The resource server checked scheme, signature, htm, htu (its own address and the path), ath and the key binding.
        var verdicts = api.Verdicts.ToArray();
        Assert.Equal(2, verdicts.Length);
        Assert.All(verdicts, v =>
        {
            Assert.Null(v.Problem);
            Assert.Equal("DPoP", v.Scheme);
        });
    }

    /// <summary>A gateway with forward-auth on and the route <c>/api/orders</c>, behind nginx forwarding <c>/api/</c> to <paramref name="upstream"/>.</summary>
    private static async Task<(TestStack Stack, NginxBalancer Nginx)> StartFrontedAsync(string upstream, Action<Dictionary<string, string?>> adjust)
    {
        var authPort = FreePort.Next();
        var stack = await TestStack.StartAsync(adjust: s =>
        {
            Routes.Add(s, "orders", "/api/orders", upstream);
            s["Portcullis:TrustedProxies:0"] = ProxyAddress.ToString();
            s["Portcullis:ForwardAuth:Enabled"] = "true";
            s["Portcullis:ForwardAuth:Port"] = authPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            adjust(s);
        });
        var port = FreePort.Next();
        return (stack, await NginxBalancer.StartAsync(port, World.NginxConfiguration(port, stack.Gateway.Port, authPort, new Uri(upstream).Port)));
    }

    /// <summary>A browser of this test's own, signed in at the gateway; the upstream's record starts empty.</summary>
    private async Task<BrowserClient> SignedInAsync()
    {
        var browser = new BrowserClient();
        await browser.LoginAsync(world.Stack.Origin);
        world.Upstream.Requests.Clear();
        return browser;
    }

    private Task<RawResponse> AskAsProxyAsync(BrowserClient browser, params (string Name, string Value)[] headers) =>
        AskAsProxyAsync(browser, "/bff/forward-auth", "GET", headers);

    /// <summary>Asks the gateway directly from the trusted proxy's address, as a front proxy would, with the browser's cookie.</summary>
    private Task<RawResponse> AskAsProxyAsync(BrowserClient browser, string target, string method, params (string Name, string Value)[] headers) =>
        RawHttp.SendAsync(world.AuthPort, target, Routes.Csrf([("Cookie", SessionCookie(browser)), .. headers]), method, ProxyAddress);

    private static string SessionCookie(BrowserClient browser) => $"__Host-portcullis={browser.CookiesFor("localhost")["__Host-portcullis"]}";

    /// <summary>One provider, gateway, upstream and nginx for the whole class; each test signs in a browser of its own.</summary>
    public sealed class World : IAsyncLifetime
    {
        public ProxyUpstream Upstream { get; private set; } = null!;

        public TestStack Stack { get; private set; } = null!;

        public NginxBalancer Nginx { get; private set; } = null!;

        /// <summary>The gateway's forward-auth listener (<c>ForwardAuth:Port</c>), which only nginx's auth call uses.</summary>
        public int AuthPort { get; } = FreePort.Next();

        /// <summary>The gateway's clock: moved past a token's refresh point without sleeping.</summary>
        public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

        public async Task InitializeAsync()
        {
            Upstream = await ProxyUpstream.StartAsync();
            Stack = await TestStack.StartAsync(clock: Clock, idpConfig: (config, _) => config["resources"] = new JsonObject { [Ledger] = new JsonObject() }, adjust: s =>
            {
                Routes.Add(s, "orders", "/api/orders", Upstream.Url);
                Routes.Add(s, "ledger", "/api/ledger", Upstream.Url);
                s["Portcullis:Apis:ledger:Resource"] = Ledger;
                Routes.Add(s, "admin", "/api/admin", Upstream.Url);
                s["Portcullis:Apis:admin:RequireScopes:0"] = "admin";
                s["Portcullis:TrustedProxies:0"] = ProxyAddress.ToString();
                s["Portcullis:ForwardAuth:Enabled"] = "true";
                s["Portcullis:ForwardAuth:Port"] = AuthPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            });
            var port = FreePort.Next();
            Nginx = await NginxBalancer.StartAsync(port, NginxConfiguration(port, Stack.Gateway.Port, AuthPort, Upstream.Port));
        }

        public async Task DisposeAsync()
        {
            await Nginx.DisposeAsync();
            await Stack.DisposeAsync();
            await Upstream.DisposeAsync();
        }

        /// <summary>
        /// The configuration of docs/deploy.md ("nginx auth_request"), on loopback ports and without TLS: the browser's
        /// <c>/bff/</c> traffic and the auth call both leave nginx from 127.0.0.2, the trusted proxy, as they leave a real
        /// nginx from its one address; only the auth call goes to the forward-auth port.
        /// </summary>
        internal static string NginxConfiguration(int port, int gatewayPort, int authPort, int upstreamPort) => $$"""
            server {
              listen 127.0.0.1:{{port}};

              location /bff/ {
                proxy_pass http://127.0.0.1:{{gatewayPort}};
                proxy_bind {{ProxyAddress}};
                proxy_set_header X-Forwarded-For $remote_addr;
              }

              location /api/ {
                auth_request /_portcullis;
                auth_request_set $portcullis_authorization $upstream_http_authorization;
                auth_request_set $portcullis_dpop $upstream_http_dpop;
                auth_request_set $portcullis_assertion $upstream_http_x_portcullis_assertion;
                proxy_set_header Authorization $portcullis_authorization;
                proxy_set_header DPoP $portcullis_dpop;
                proxy_set_header X-Portcullis-Assertion $portcullis_assertion;
                proxy_set_header Cookie "";
                proxy_set_header X-CSRF "";
                proxy_pass http://127.0.0.1:{{upstreamPort}};
                error_page 401 = @portcullis_401;
                error_page 403 = @portcullis_403;
              }

              location = /_portcullis {
                internal;
                proxy_pass http://127.0.0.1:{{authPort}}/bff/forward-auth;
                proxy_bind {{ProxyAddress}};
                proxy_pass_request_body off;
                proxy_set_header Content-Length "";
                proxy_set_header X-Original-URI $request_uri;
                proxy_set_header X-Original-Method $request_method;
                proxy_set_header X-Forwarded-Uri "";
                proxy_set_header X-Forwarded-Method "";
                proxy_set_header X-Forwarded-For $remote_addr;
                proxy_set_header X-Forwarded-Proto $scheme;
              }

              location @portcullis_401 {
                default_type application/json;
                return 401 '{"error":"unauthenticated","message":"There is no valid session. Sign in again."}';
              }

              location @portcullis_403 {
                default_type application/json;
                return 403 '{"error":"forbidden","message":"The gateway refused this request."}';
              }
            }
            """;
    }
}
