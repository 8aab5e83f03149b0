using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Configuration;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>
/// Issue 20 item 4 (ADR 0042): on a route with <c>AcceptBearer</c>, a caller without the session cookie presents its own
/// access token; the real provider's JWKS or introspection endpoint confirms it and the upstream receives exactly that
/// token. Forged, foreign, expired, revoked and ID tokens get 401 <c>invalid_token</c> and never reach the upstream;
/// cookie requests on the same route keep every check; routes without <c>AcceptBearer</c> behave as before.
/// </summary>
public sealed class BearerPassThroughTests(BearerPassThroughTests.World world) : IClassFixture<BearerPassThroughTests.World>
{
    private const string Resource = "https://orders.test/";
    private const string OtherResource = "https://billing.test/";

    /// <summary>The <c>orders</c> resource server again, issuing opaque access tokens (introspected, with <c>aud</c> orders).</summary>
    private const string OpaqueResource = "https://orders-opaque.test/";

    /// <summary>
    /// Two providers, both issuing JWT access tokens for the <c>orders</c> and <c>billing</c> resource servers to a CLI
    /// client (<c>cli</c>); the gateway's routes accept <c>orders</c> tokens of <c>main</c>.
    /// </summary>
    public sealed class World : IAsyncLifetime
    {
        public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

        public TestIdp Other { get; private set; } = null!;

        public TestStack Stack { get; private set; } = null!;

        public ProxyUpstream Upstream { get; private set; } = null!;

        /// <summary>The gateway's forward-auth listener (<c>ForwardAuth:Port</c>).</summary>
        public int ForwardAuthPort { get; } = FreePort.Next();

        public async Task InitializeAsync()
        {
            Upstream = await ProxyUpstream.StartAsync();
            Other = await TestIdp.StartAsync(["http://localhost:1"], adjustConfig: AddCliClientAndResources);
            Stack = await TestStack.StartAsync(clock: Clock, idpConfig: (config, _) => AddCliClientAndResources(config), adjust: s =>
            {
                s["Portcullis:Providers:other:Authority"] = Other.Issuer;
                s["Portcullis:Providers:other:ClientId"] = TestIdp.ClientId;
                s["Portcullis:Providers:other:ClientSecret"] = TestIdp.ClientSecret;
                Routes.Add(s, "orders", "/api/orders", Upstream.Url);
                s["Portcullis:Apis:orders:AcceptBearer"] = "true";
                s["Portcullis:Apis:orders:Provider"] = "main";
                s["Portcullis:Apis:orders:BearerAudiences:0"] = "orders";
                Routes.Add(s, "admin", "/api/admin", Upstream.Url);
                s["Portcullis:Apis:admin:AcceptBearer"] = "true";
                s["Portcullis:Apis:admin:Provider"] = "main";
                s["Portcullis:Apis:admin:BearerAudiences:0"] = "orders";
                s["Portcullis:Apis:admin:RequireScopes:0"] = "admin";
                Routes.Add(s, "plain", "/api/plain", Upstream.Url);
                // Callers' tokens of the other provider: nothing else here makes the gateway load that provider's keys.
                Routes.Add(s, "partner", "/api/partner", Upstream.Url);
                s["Portcullis:Apis:partner:AcceptBearer"] = "true";
                s["Portcullis:Apis:partner:Provider"] = "other";
                s["Portcullis:Apis:partner:BearerAudiences:0"] = "orders";
                // Both ways on one route: cookie requests get the grant's token for the resource, bearers their own.
                Routes.Add(s, "shop", "/api/shop", Upstream.Url);
                s["Portcullis:Apis:shop:AcceptBearer"] = "true";
                s["Portcullis:Apis:shop:Provider"] = "main";
                s["Portcullis:Apis:shop:BearerAudiences:0"] = "orders";
                s["Portcullis:Apis:shop:Resource"] = Resource;
                // Another API of the same provider: its callers' tokens must name billing, never orders.
                Routes.Add(s, "billing", "/api/billing", Upstream.Url);
                s["Portcullis:Apis:billing:AcceptBearer"] = "true";
                s["Portcullis:Apis:billing:Provider"] = "main";
                s["Portcullis:Apis:billing:BearerAudiences:0"] = "billing";
                // An API that takes any token of the provider, even one meant for no API in particular.
                Routes.Add(s, "profile", "/api/profile", Upstream.Url);
                s["Portcullis:Apis:profile:AcceptBearer"] = "true";
                s["Portcullis:Apis:profile:Provider"] = "main";
                s["Portcullis:Apis:profile:BearerAudiences:0"] = "orders";
                s["Portcullis:Apis:profile:BearerAcceptTokensWithoutAudience"] = "true";
                // This test's own connections play the front proxy for the forward-auth case.
                s["Portcullis:ForwardAuth:Enabled"] = "true";
                s["Portcullis:ForwardAuth:Port"] = ForwardAuthPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
                s["Portcullis:TrustedProxies:0"] = "127.0.0.1";
            });
        }

        private static void AddCliClientAndResources(JsonObject config)
        {
            config["clients"]!.AsArray().Add(new JsonObject
            {
                ["client_id"] = "cli",
                ["client_secret"] = "cli-secret",
                ["token_endpoint_auth_method"] = "client_secret_basic",
                ["redirect_uris"] = new JsonArray("http://localhost:1/cb"),
                ["grant_types"] = new JsonArray("client_credentials"),
                ["response_types"] = new JsonArray(),
            });
            config["resources"] = new JsonObject
            {
                [Resource] = new JsonObject { ["audience"] = "orders" },
                [OtherResource] = new JsonObject { ["audience"] = "billing" },
                [OpaqueResource] = new JsonObject { ["audience"] = "orders", ["accessTokenFormat"] = "opaque" },
            };
        }

        public async Task DisposeAsync()
        {
            await Stack.DisposeAsync();
            await Other.DisposeAsync();
            await Upstream.DisposeAsync();
        }
    }

    [Fact]
    public async Task AValidJwtIsForwardedExactlyAsTheCallerSentItWithoutAnAntiForgeryHeader()
    {
        var token = await ClientCredentialsAsync(world.Stack.Idp, Resource);
        Assert.Equal(2, token.Count(c => c == '.'));

        var (response, reached) = await CallAsync("/api/orders/1", "Bearer " + token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(reached);
        Assert.Equal("Bearer " + token, seen.Headers["Authorization"]);
        Assert.False(seen.Headers.ContainsKey("Cookie"));
        Assert.DoesNotContain(token, world.Stack.Gateway.Logs.All, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("wrong-aud")]
    [InlineData("wrong-iss")]
    [InlineData("expired")]
    [InlineData("tampered")]
    [InlineData("alg-none")]
    [InlineData("id-token")]
    [InlineData("id-token-also-for-orders")]
    [InlineData("logout-token")]
    [InlineData("other-provider")]
    [InlineData("issued-to-the-gateway")]
    [InlineData("issued-to-the-gateway-named-in-azp")]
    [InlineData("not-a-token")]
    public async Task AForgedForeignOrWrongTokenGets401AndNeverReachesTheUpstream(string kind)
    {
        var token = await TokenOfKindAsync(kind);

        var (response, reached) = await CallAsync("/api/orders/1", "Bearer " + token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal("invalid_token", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.Empty(reached);
        Assert.DoesNotContain(token, world.Stack.Gateway.Logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOpaqueTokenIsIntrospectedAndForwardedAndOnceRevokedIsRefusedWithinTheCacheBound()
    {
        var idp = world.Stack.Idp;
        var token = await ClientCredentialsAsync(idp, OpaqueResource);
        Assert.DoesNotContain('.', token);

        var (first, reachedFirst) = await CallAsync("/api/orders/opaque", "Bearer " + token);
        await RevokeAsync(idp, token);
        Assert.False(await idp.IsActiveAsync(token));
        // The positive answer is kept for at most 30 s (ADR 0042): the revocation shows once that bound has passed.
        var (cached, reachedCached) = await CallAsync("/api/orders/opaque", "Bearer " + token);
        world.Clock.Advance(TimeSpan.FromSeconds(31));
        var (revoked, reachedRevoked) = await CallAsync("/api/orders/opaque", "Bearer " + token);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("Bearer " + token, Assert.Single(reachedFirst).Headers["Authorization"]);
        Assert.Equal(HttpStatusCode.OK, cached.StatusCode);
        Assert.Single(reachedCached);
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        Assert.Equal("Bearer error=\"invalid_token\"", revoked.Headers.WwwAuthenticate.ToString());
        Assert.Empty(reachedRevoked);
    }

    /// <summary>
    /// Security review finding 1: the introspection cache is keyed by the token alone, so its answer must not stand in for
    /// the route's audience check. An opaque <c>orders</c> token accepted (and cached) on the orders route is refused on
    /// the billing route of the same provider within the cache bound, and never reaches the billing upstream.
    /// </summary>
    [Fact]
    public async Task ACachedIntrospectionAnswerForOneApiDoesNotOpenAnotherApisRoute()
    {
        var token = await ClientCredentialsAsync(world.Stack.Idp, OpaqueResource);
        Assert.DoesNotContain('.', token);

        var (orders, reachedOrders) = await CallAsync("/api/orders/cached", "Bearer " + token);
        world.Clock.Advance(TimeSpan.FromSeconds(5)); // well within the 30 s the answer is kept
        var (billing, reachedBilling) = await CallAsync("/api/billing/cached", "Bearer " + token);
        var (ordersAgain, reachedOrdersAgain) = await CallAsync("/api/orders/cached", "Bearer " + token);

        Assert.Equal(HttpStatusCode.OK, orders.StatusCode);
        Assert.Single(reachedOrders);
        Assert.Equal(HttpStatusCode.Unauthorized, billing.StatusCode);
        Assert.Equal("Bearer error=\"invalid_token\"", billing.Headers.WwwAuthenticate.ToString());
        Assert.Equal("invalid_token", (await billing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.Empty(reachedBilling);
        Assert.DoesNotContain(world.Upstream.Requests, r => r.PathAndQuery.Contains("billing", StringComparison.Ordinal));
        // The refusal on billing took nothing from orders: the same token still passes there.
        Assert.Equal(HttpStatusCode.OK, ordersAgain.StatusCode);
        Assert.Single(reachedOrdersAgain);
    }

    /// <summary>
    /// An introspection answer without <c>aud</c> (oidc-provider: a token requested without <c>resource</c>, good at userinfo
    /// only) is meant for no API: refused where <c>BearerAudiences</c> is set, unless the route opts in with
    /// <c>BearerAcceptTokensWithoutAudience</c>; the cached answer from the refusal serves the opted-in route.
    /// </summary>
    [Fact]
    public async Task AnOpaqueTokenWithoutAudienceIsRefusedUnlessTheRouteAcceptsTokensWithoutAudience()
    {
        var token = await ClientCredentialsAsync(world.Stack.Idp, resource: null);
        Assert.DoesNotContain('.', token);

        var (orders, reachedOrders) = await CallAsync("/api/orders/no-aud", "Bearer " + token);
        var (profile, reachedProfile) = await CallAsync("/api/profile/no-aud", "Bearer " + token);

        Assert.Equal(HttpStatusCode.Unauthorized, orders.StatusCode);
        Assert.Equal("Bearer error=\"invalid_token\"", orders.Headers.WwwAuthenticate.ToString());
        Assert.Empty(reachedOrders);
        Assert.Equal(HttpStatusCode.OK, profile.StatusCode);
        Assert.Equal("Bearer " + token, Assert.Single(reachedProfile).Headers["Authorization"]);
    }

    [Fact]
    public async Task ForwardAuthJudgesABearerRequestAsTheProxyDoesAndHandsBackTheCallersToken()
    {
        var idp = world.Stack.Idp;
        var valid = await ClientCredentialsAsync(idp, Resource);
        var expired = await TokenOfKindAsync("expired");

        async Task<HttpResponseMessage> AskAsync(string? token)
        {
            using var http = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{world.ForwardAuthPort}/bff/forward-auth");
            request.Headers.Add("X-Original-URI", "/api/orders/7");
            request.Headers.Add("X-Original-Method", "GET");
            if (token is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
            }

            var response = await http.SendAsync(request);
            await response.Content.LoadIntoBufferAsync();
            return response;
        }

        using var accepted = await AskAsync(valid);
        using var refused = await AskAsync(expired);
        using var bare = await AskAsync(null);

        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal("Bearer " + valid, accepted.Headers.GetValues("Authorization").Single());
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("Bearer error=\"invalid_token\"", refused.Headers.WwwAuthenticate.ToString());
        Assert.False(refused.Headers.Contains("Authorization"));
        // No credential at all: the front proxy gets the proxy's challenge too, to pass on to the caller.
        Assert.Equal(HttpStatusCode.Unauthorized, bare.StatusCode);
        Assert.Equal("Bearer", bare.Headers.WwwAuthenticate.ToString());
        Assert.False(bare.Headers.Contains("Authorization"));
    }

    /// <summary>
    /// RFC 6750 §3.1: a caller that sent no credential at all (not knowing it must authenticate, or with an unsupported
    /// scheme) learns that a bearer token is accepted: 401 with a bare <c>Bearer</c> challenge, no error code, even without
    /// the anti-forgery header a CLI would not send. A route without <c>AcceptBearer</c> names no scheme it does not take.
    /// </summary>
    [Fact]
    public async Task ARequestWithoutAnyCredentialIsChallengedForABearerOnlyWhereOneIsAccepted()
    {
        var (bare, reachedBare) = await CallAsync("/api/orders/1", authorization: null);
        var (basic, reachedBasic) = await CallAsync("/api/orders/1", "Basic Y2xpOmNsaS1zZWNyZXQ=");
        var (plain, reachedPlain) = await CallAsync("/api/plain/1", authorization: null, csrf: true);

        foreach (var challenged in new[] { bare, basic })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, challenged.StatusCode);
            Assert.Equal("Bearer", challenged.Headers.WwwAuthenticate.ToString());
            Assert.Equal("unauthenticated", (await challenged.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }

        Assert.Equal(HttpStatusCode.Unauthorized, plain.StatusCode);
        Assert.Equal("unauthenticated", (await plain.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.False(plain.Headers.Contains("WWW-Authenticate"));
        Assert.Empty(reachedBare.Concat(reachedBasic).Concat(reachedPlain));
    }

    /// <summary>
    /// The provider cannot be asked (its endpoints drop every connection): a caller's token is neither refused (the caller
    /// did nothing wrong) nor forwarded unchecked, but answered 503 with <c>Retry-After</c>; once the provider is back the
    /// same token passes. A JWT of a provider whose keys were never loaded, and an opaque token needing introspection.
    /// </summary>
    [Fact]
    public async Task WhileTheProviderCannotBeAskedABearerGets503AndOnceItIsBackTheSameTokenPasses()
    {
        var jwt = await ClientCredentialsAsync(world.Other, Resource);
        var opaque = await ClientCredentialsAsync(world.Stack.Idp, OpaqueResource);
        var during = new List<(HttpResponseMessage Response, UpstreamRequest[] Reached)>();
        await world.Other.SetOutageAsync("down");
        await world.Stack.Idp.SetOutageAsync("down");
        try
        {
            during.Add(await CallAsync("/api/partner/1", "Bearer " + jwt));
            during.Add(await CallAsync("/api/orders/outage", "Bearer " + opaque));
        }
        finally
        {
            await world.Other.SetOutageAsync("up");
            await world.Stack.Idp.SetOutageAsync("up");
        }

        // After a failed first fetch the metadata library waits a moment (its own back-off) before asking again.
        var jwtBack = await Eventually.Until(
            () => CallAsync("/api/partner/2", "Bearer " + jwt),
            call =>
            {
                var waiting = call.Response.StatusCode == HttpStatusCode.ServiceUnavailable;
                if (waiting)
                {
                    during.Add(call);
                }

                return !waiting;
            },
            "the other provider's keys once it answers again");
        var opaqueBack = await CallAsync("/api/orders/outage", "Bearer " + opaque);

        Assert.True(during.Count >= 2);
        foreach (var (response, reached) in during)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, response.ToString());
            Assert.Equal("provider_unavailable", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
            Assert.False(response.Headers.Contains("WWW-Authenticate"));
            Assert.Empty(reached);
        }

        Assert.Equal(HttpStatusCode.OK, jwtBack.Response.StatusCode);
        Assert.Equal("Bearer " + jwt, Assert.Single(jwtBack.Reached).Headers["Authorization"]);
        Assert.Equal(HttpStatusCode.OK, opaqueBack.Response.StatusCode);
        Assert.Equal("Bearer " + opaque, Assert.Single(opaqueBack.Reached).Headers["Authorization"]);
    }

    /// <summary>
    /// <c>AcceptBearer</c> and <c>Resource</c> on one route (ADR 0044): a cookie request is sent the grant's token for that
    /// resource (obtained by a refresh naming it, never the sign-in's own token), a bearer request the caller's own token,
    /// whose <c>aud</c> must be among <c>BearerAudiences</c>.
    /// </summary>
    [Fact]
    public async Task OnARouteWithAResourceCookieRequestsGetTheResourcesTokenAndBearerRequestsTheCallersOwn()
    {
        var idp = world.Stack.Idp;
        using var browser = new BrowserClient();
        await LoginAtMainAsync(browser, "bob");
        var own = (await idp.TokensAsync()).Last(t => t.GrantType == "authorization_code").AccessToken;
        var callerToken = await ClientCredentialsAsync(idp, Resource);
        var foreignToken = await ClientCredentialsAsync(idp, OtherResource);
        var before = world.Upstream.Requests.Count;

        var cookie = await browser.GetAsync($"{world.Stack.Origin}/api/shop/1", BrowserClient.Csrf);
        var reachedByCookie = world.Upstream.Requests.Skip(before).ToArray();
        var (bearer, reachedByBearer) = await CallAsync("/api/shop/2", "Bearer " + callerToken);
        var (foreign, reachedByForeign) = await CallAsync("/api/shop/3", "Bearer " + foreignToken);

        Assert.Equal(HttpStatusCode.OK, cookie.Status);
        var sent = Assert.Single(reachedByCookie).Headers;
        var resourceToken = Assert.Single(await RouteAudienceTests.AssertAudienceAsync([sent], await RouteAudienceTests.ProviderKeysAsync(world.Stack), idp.Issuer, "orders"));
        Assert.NotEqual(own, resourceToken);
        Assert.NotEqual(callerToken, resourceToken);
        Assert.Contains(await idp.EventsAsync("token"), e => e.GetProperty("grant_type").GetString() == "refresh_token"
            && e.TryGetProperty("resource", out var named) && named.GetString() == Resource && e.GetProperty("outcome").GetString() == "success");
        Assert.Equal(HttpStatusCode.OK, bearer.StatusCode);
        Assert.Equal("Bearer " + callerToken, Assert.Single(reachedByBearer).Headers["Authorization"]);
        Assert.Equal(HttpStatusCode.Unauthorized, foreign.StatusCode);
        Assert.Empty(reachedByForeign);
    }

    [Fact]
    public async Task AnOpaqueTokenRevokedBeforeItsFirstUseIsRefused()
    {
        var token = await ClientCredentialsAsync(world.Stack.Idp, OpaqueResource);
        await RevokeAsync(world.Stack.Idp, token);

        var (response, reached) = await CallAsync("/api/orders/revoked", "Bearer " + token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(reached);
    }

    [Fact]
    public async Task TheRouteScopeRequirementsApplyToTheCallersToken()
    {
        var token = await ClientCredentialsAsync(world.Stack.Idp, Resource);

        var (response, reached) = await CallAsync("/api/admin/1", "Bearer " + token);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("insufficient_scope", response.Headers.WwwAuthenticate.ToString());
        Assert.Empty(reached);
    }

    [Fact]
    public async Task ACookieRequestOnABearerRouteKeepsEveryCookieCheckAndSendsTheSessionsToken()
    {
        var stack = world.Stack;
        using var browser = new BrowserClient();
        await LoginAtMainAsync(browser, "alice");
        var callerToken = await ClientCredentialsAsync(stack.Idp, Resource);
        var bearer = new Dictionary<string, string> { ["Authorization"] = "Bearer " + callerToken };
        var before = world.Upstream.Requests.Count;

        var withoutCsrf = await browser.GetAsync($"{stack.Origin}/api/orders/cookie", bearer);
        var foreignOrigin = await browser.GetAsync($"{stack.Origin}/api/orders/cookie", Routes.Csrf(("Authorization", "Bearer " + callerToken), ("Origin", "https://evil.example")));
        Assert.Equal(before, world.Upstream.Requests.Count);
        var withCsrf = await browser.GetAsync($"{stack.Origin}/api/orders/cookie", Routes.Csrf(("Authorization", "Bearer " + callerToken)));

        Assert.Equal(HttpStatusCode.Forbidden, withoutCsrf.Status);
        Assert.Contains("csrf_check_failed", withoutCsrf.Body);
        Assert.Equal(HttpStatusCode.Forbidden, foreignOrigin.Status);
        Assert.Equal(HttpStatusCode.OK, withCsrf.Status);
        // With the cookie, the request is the session's: the upstream gets the user's token, never the one the caller added.
        var sessionToken = (await stack.Idp.TokensAsync()).Last(t => t.GrantType == "authorization_code").AccessToken;
        Assert.Equal("Bearer " + sessionToken, world.Upstream.Requests.Last().Headers["Authorization"]);
    }

    [Fact]
    public async Task ARouteWithoutAcceptBearerIgnoresBearerHeadersAsBefore()
    {
        var token = await ClientCredentialsAsync(world.Stack.Idp, Resource);

        var (withoutCsrf, reachedWithout) = await CallAsync("/api/plain/1", "Bearer " + token);
        var (withCsrf, reachedWith) = await CallAsync("/api/plain/1", "Bearer " + token, csrf: true);

        Assert.Equal(HttpStatusCode.Forbidden, withoutCsrf.StatusCode);
        Assert.Equal("csrf_check_failed", (await withoutCsrf.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, withCsrf.StatusCode);
        Assert.Equal("unauthenticated", (await withCsrf.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.Empty(withCsrf.Headers.WwwAuthenticate);
        Assert.Empty(reachedWithout);
        Assert.Empty(reachedWith);
    }

    [Fact]
    public async Task AcceptBearerWithoutAudiencesWithTheGatewaysClientIdOrOnAClientRouteDoesNotStart()
    {
        var settings = MisconfigurationTests.ValidSettings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        void Route(string name, string token)
        {
            settings[$"Portcullis:Apis:{name}:Path"] = $"/api/{name}";
            settings[$"Portcullis:Apis:{name}:Upstream"] = "http://127.0.0.1:7001";
            settings[$"Portcullis:Apis:{name}:Token"] = token;
            settings[$"Portcullis:Apis:{name}:AcceptBearer"] = "true";
        }

        Route("noaudience", "user");
        Route("ownclient", "user");
        settings["Portcullis:Apis:ownclient:BearerAudiences:0"] = "bff";
        Route("client", "client");
        settings["Portcullis:Apis:client:BearerAudiences:0"] = "orders";
        settings["Portcullis:Apis:stray:Path"] = "/api/stray";
        settings["Portcullis:Apis:stray:Upstream"] = "http://127.0.0.1:7001";
        settings["Portcullis:Apis:stray:BearerAudiences:0"] = "orders";
        settings["Portcullis:Apis:stray:BearerAcceptTokensWithoutAudience"] = "true";

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => MisconfigurationTests.StartAsync(settings));

        var message = string.Join('\n', exception.Failures);
        Assert.Contains("Portcullis:Apis:noaudience:BearerAudiences is required", message);
        Assert.Contains("Portcullis:Apis:ownclient:BearerAudiences must not contain the gateway's own client id", message);
        Assert.Contains("Portcullis:Apis:client:AcceptBearer needs Token 'user' or 'user-optional'", message);
        Assert.Contains("Portcullis:Apis:stray:BearerAudiences applies only with", message);
        Assert.Contains("Portcullis:Apis:stray:BearerAcceptTokensWithoutAudience applies only with", message);
    }

    private async Task<string> TokenOfKindAsync(string kind)
    {
        var idp = world.Stack.Idp;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        object Claims(string issuer, object audience, long exp) =>
            new { iss = issuer, sub = "cli", client_id = "cli", aud = audience, scope = "api", iat = now - 5, exp, jti = Guid.NewGuid().ToString("N") };
        var atJwt = new { typ = "at+jwt" };
        switch (kind)
        {
            case "wrong-aud":
                return await ClientCredentialsAsync(idp, OtherResource);
            case "wrong-iss":
                // Signed with the right key, but naming another provider instance as its issuer.
                return await idp.SignAsync(Claims(world.Other.Issuer, "orders", now + 300), atJwt);
            case "expired":
                return await idp.SignAsync(Claims(idp.Issuer, "orders", now - 300), atJwt);
            case "tampered":
                var valid = (await ClientCredentialsAsync(idp, Resource)).Split('.');
                var payload = JsonNode.Parse(Encoding.UTF8.GetString(Base64Url(valid[1])))!.AsObject();
                payload["scope"] = "api admin";
                return $"{valid[0]}.{Convert.ToBase64String(Encoding.UTF8.GetBytes(payload.ToJsonString())).TrimEnd('=').Replace('+', '-').Replace('/', '_')}.{valid[2]}";
            case "alg-none":
                static string Part(object value) => Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(value)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
                return $"{Part(new { alg = "none", typ = "at+jwt" })}.{Part(Claims(idp.Issuer, "orders", now + 300))}.";
            case "id-token":
                using (var browser = new BrowserClient())
                {
                    await LoginAtMainAsync(browser, "bob");
                }

                return (await idp.TokensAsync()).Last(t => t.IdToken is not null).IdToken!;
            case "id-token-also-for-orders":
                return await idp.SignAsync(new { iss = idp.Issuer, sub = "alice", aud = new[] { TestIdp.ClientId, "orders" }, azp = TestIdp.ClientId, nonce = "n", iat = now, exp = now + 300 });
            case "logout-token":
                return await idp.SignAsync(
                    new { iss = idp.Issuer, sub = "alice", aud = "orders", iat = now, exp = now + 300, jti = "j", events = new Dictionary<string, object> { ["http://schemas.openid.net/event/backchannel-logout"] = new { } } },
                    new { typ = "logout+jwt" });
            case "other-provider":
                return await ClientCredentialsAsync(world.Other, Resource);
            case "issued-to-the-gateway":
                return await ClientCredentialsAsync(idp, Resource, TestIdp.ClientId, TestIdp.ClientSecret);
            case "issued-to-the-gateway-named-in-azp":
                // Keycloak, Entra ID v2 and Auth0 name the client in azp, not client_id: a per-API token the gateway got
                // for a user (its aud the API's) taken from an upstream's logs (review of 2026-12-08).
                return await idp.SignAsync(new { iss = idp.Issuer, sub = "alice", azp = TestIdp.ClientId, aud = "orders", scope = "api", iat = now - 5, exp = now + 300, jti = Guid.NewGuid().ToString("N") }, atJwt);
            case "not-a-token":
                return "not-a-token-any-provider-issued";
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    /// <summary>Calls the gateway as a CLI would: no cookie, the given <c>Authorization</c>; returns the answer and what reached the upstream.</summary>
    private async Task<(HttpResponseMessage Response, UpstreamRequest[] Reached)> CallAsync(string path, string? authorization, bool csrf = false)
    {
        var before = world.Upstream.Requests.Count;
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, world.Stack.Origin + path);
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        if (csrf)
        {
            request.Headers.Add("X-CSRF", "1");
        }

        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return (response, world.Upstream.Requests.Skip(before).ToArray());
    }

    /// <summary>A client-credentials token from <paramref name="idp"/>: a JWT for <paramref name="resource"/>, opaque without one.</summary>
    private static async Task<string> ClientCredentialsAsync(TestIdp idp, string? resource, string clientId = "cli", string secret = "cli-secret")
    {
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "api" };
        if (resource is not null)
        {
            form["resource"] = resource;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/token") { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes($"{clientId}:{secret}")));
        using var response = await idp.Http.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, body.ToString());
        return body.GetProperty("access_token").GetString()!;
    }

    private async Task LoginAtMainAsync(BrowserClient browser, string user) =>
        await browser.GetAsync(await browser.AuthorizeAtProviderAsync($"{world.Stack.Origin}/bff/login?provider=main&returnUrl=%2F", user));

    private static async Task RevokeAsync(TestIdp idp, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/token/revocation")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes("cli:cli-secret")));
        using var response = await idp.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    private static byte[] Base64Url(string value)
    {
        var padded = value.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - padded.Length % 4) % 4));
    }
}
