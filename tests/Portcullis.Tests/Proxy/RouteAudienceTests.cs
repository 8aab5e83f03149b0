using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tokens;

namespace Portcullis.Tests.Proxy;

/// <summary>
/// Per-route audiences (issue 20 item 2, ADR 0043) against the real oidc-provider with RFC 8707 resource servers: a route
/// naming a <c>Resource</c> sends a JWT minted for that resource alone, obtained from the user's grant by a refresh naming
/// it (or by RFC 8693 token exchange), refreshed once however many requests need it, and never a token minted for another
/// resource; the rotated refresh token of such a refresh is the grant's, so the grant's own refreshes keep working.
/// </summary>
public sealed class RouteAudienceTests
{
    private const string Orders = "https://orders.test/";
    private const string Billing = "https://billing.test/";
    private const string Reports = "https://reports.test/";
    private const string Ledger = "https://ledger.test/";

    [Fact]
    public async Task EachResourceRouteOnlyEverSeesTokensForItsOwnResourceAcrossRefreshesStormsAndRotations()
    {
        await using var orders = await RecordingUpstream.StartAsync();
        await using var billing = await RecordingUpstream.StartAsync();
        await using var profile = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 60, clock: clock, idpConfig: (config, _) => Resources(config, Orders, Billing), adjust: s =>
        {
            Route(s, "orders", orders.Url, Orders);
            Route(s, "billing", billing.Url, Billing);
            Route(s, "profile", profile.Url);
            s["Portcullis:Tokens:OfflineAccess"] = "true";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        async Task CallAsync(string route, int times = 1)
        {
            for (var i = 0; i < times; i++)
            {
                var response = await browser.GetAsync($"{stack.Origin}/api/{route}/{i}", BrowserClient.Csrf);
                Assert.True(response.Status == HttpStatusCode.OK, $"{route}: {response.Everything}");
            }
        }

        await CallAsync("orders", 2);
        await CallAsync("billing", 2);
        await CallAsync("profile");
        Assert.Equal(1, await RefreshesAsync(stack, Orders));
        Assert.Equal(1, await RefreshesAsync(stack, Billing));

        // Both API tokens and the grant's own are due: a storm on one API refreshes that API's token once.
        clock.Advance(TimeSpan.FromSeconds(61));
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        using var http = new HttpClient();
        var storm = await Task.WhenAll(Enumerable.Range(0, 60).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{stack.Origin}/api/orders/storm/{i}");
            request.Headers.Add("Cookie", $"__Host-portcullis={cookie}");
            request.Headers.Add("X-CSRF", "1");
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }));
        Assert.All(storm, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(2, await RefreshesAsync(stack, Orders));

        // Rotation: the grant's refresh (with the refresh token the resource refresh rotated), another resource refresh,
        // and the grant's refresh again all succeed: had a resource refresh not saved its rotated token, the next refresh
        // would present a spent one and the provider would revoke the whole grant.
        await CallAsync("profile");
        await CallAsync("billing");
        clock.Advance(TimeSpan.FromSeconds(61));
        await CallAsync("profile");
        await CallAsync("orders");
        await CallAsync("billing");

        var refreshes = (await stack.Idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "refresh_token").ToArray();
        Assert.All(refreshes, e => Assert.Equal("success", e.GetProperty("outcome").GetString()));
        Assert.Equal(2, refreshes.Count(e => !e.TryGetProperty("resource", out _)));
        Assert.Equal(3, await RefreshesAsync(stack, Orders));
        Assert.Equal(3, await RefreshesAsync(stack, Billing));
        Assert.Empty(await stack.Idp.EventsAsync("grant_revoked"));

        // Each upstream only ever saw JWTs the provider signed for its own resource; the plain route the sign-in's own token.
        var jwks = await ProviderKeysAsync(stack);
        var ordersTokens = await AssertAudienceAsync(orders, jwks, stack.Idp.Issuer, Orders);
        var billingTokens = await AssertAudienceAsync(billing, jwks, stack.Idp.Issuer, Billing);
        Assert.Equal(3, ordersTokens.Count);
        Assert.Equal(3, billingTokens.Count);
        var issued = await stack.Idp.TokensAsync();
        var ownTokens = issued.Where(t => t.GrantType is "authorization_code" || (t.GrantType == "refresh_token" && !ordersTokens.Contains(t.AccessToken!) && !billingTokens.Contains(t.AccessToken!)))
            .Select(t => $"Bearer {t.AccessToken}").ToHashSet();
        Assert.All(profile.Requests, r => Assert.Contains(r.Headers["Authorization"], ownTokens));
        Assert.All(profile.Requests, r => Assert.False(new JsonWebTokenHandler().CanReadToken(r.Headers["Authorization"]["Bearer ".Length..])));
        Assert.Empty(ordersTokens.Intersect(billingTokens));

        // A worker asks for the token a route is sent: the API's own for a resource route, the grant's for a plain one.
        var userId = (string)(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Single()[0]!;
        var workerTokens = stack.Gateway.Get<IUserTokens>();
        var forBilling = await workerTokens.GetForUserAndApiAsync(userId, "billing", "billing-export");
        var forProfile = await workerTokens.GetForUserAndApiAsync(userId, "profile", "billing-export");
        var unknown = await workerTokens.GetForUserAndApiAsync(userId, "nope", "billing-export");
        Assert.True(forBilling.Succeeded, $"{forBilling.Error}: {forBilling.Message}");
        Assert.Equal(billing.Requests.Last().Headers["Authorization"], $"Bearer {forBilling.AccessToken}");
        Assert.Equal(profile.Requests.Last().Headers["Authorization"], $"Bearer {forProfile.AccessToken}");
        Assert.Equal("invalid_request", unknown.Error);
        Assert.Equal(3, await RefreshesAsync(stack, Billing)); // still fresh: no token request

        // Sealed with the grant: no API token in the store's files, and no token of any kind in the logs.
        var files = SqliteRows.ReadAllFiles(stack.Gateway.DataDirectory);
        Assert.All(ordersTokens.Concat(billingTokens), token => Assert.DoesNotContain(token, files, StringComparison.Ordinal));
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TokenExchangeRoutesGetTokensForTheirOwnResourceOrAudienceAndLogoutEndsThem()
    {
        await using var reports = await RecordingUpstream.StartAsync();
        // The ledger API refuses the first token it sees: the gateway renews that API's token (and only that one) and retries.
        var answered = 0;
        await using var ledger = await ProxyUpstream.StartAsync(async (context, _) =>
        {
            context.Response.StatusCode = Interlocked.Increment(ref answered) == 1 ? 401 : 200;
            await context.Response.WriteAsync("ledger");
        });
        await using var stack = await TestStack.StartAsync(
            idpConfig: (config, _) =>
            {
                Resources(config, Reports, Ledger);
                config["tokenExchange"] = true;
                TestIdp.Client(config)["grant_types"]!.AsArray().Add("urn:ietf:params:oauth:grant-type:token-exchange");
            },
            adjust: s =>
            {
                Route(s, "reports", reports.Url, Reports);
                s["Portcullis:Apis:reports:TokenExchange"] = "true";
                Route(s, "ledger", ledger.Url);
                s["Portcullis:Apis:ledger:Audience"] = Ledger;
                s["Portcullis:Apis:ledger:TokenExchange"] = "true";
            });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/reports/{i}", BrowserClient.Csrf)).Status);
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/ledger/{i}", BrowserClient.Csrf)).Status);
        }

        var exchanges = (await stack.Idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString()!.EndsWith("token-exchange", StringComparison.Ordinal)).ToArray();
        Assert.Equal([Reports, Ledger, Ledger], exchanges.Select(e => e.GetProperty("resource").GetString()));
        Assert.All(exchanges, e => Assert.Equal("success", e.GetProperty("outcome").GetString()));
        Assert.DoesNotContain(await stack.Idp.EventsAsync("token"), e => e.GetProperty("grant_type").GetString() == "refresh_token");
        var jwks = await ProviderKeysAsync(stack);
        Assert.Single(await AssertAudienceAsync(reports, jwks, stack.Idp.Issuer, Reports));
        var ledgerRequests = ledger.Requests.ToArray();
        Assert.Equal(3, ledgerRequests.Length);
        Assert.Equal(2, (await AssertAudienceAsync(ledgerRequests.Select(r => r.Headers), jwks, stack.Idp.Issuer, Ledger)).Count);
        Assert.NotEqual(ledgerRequests[0].Headers["Authorization"], ledgerRequests[1].Headers["Authorization"]);
        // The exchanged JWTs live in the subject token's grant (a JWT itself cannot be introspected at this provider).
        var subject = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "authorization_code").AccessToken!;
        Assert.True(await stack.Idp.IsActiveAsync(subject));

        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf)).Status);

        // The grant is revoked at the provider, which ends the tokens issued in it, and nothing of it stays here.
        await Eventually.Until(() => stack.Idp.IsActiveAsync(subject), active => !active, "the grant revoked at the provider");
        Assert.Contains(await stack.Idp.EventsAsync("revocation"), e => e.GetProperty("outcome").GetString() == "success");
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM grants"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/api/reports/after", BrowserClient.Csrf)).Status);
        Assert.Equal(2, reports.Requests.Count);
    }

    /// <summary>
    /// oidc-provider refuses a refresh for a resource the sign-in did not name, after it has already rotated the refresh
    /// token: asking would cost the user their grant. A route configured after the sign-in is refused without asking.
    /// </summary>
    [Fact]
    public async Task AResourceTheSignInDidNotNameIsRefusedWithoutSpendingTheRefreshToken()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 60, clock: clock, idpConfig: (config, _) => Resources(config, Orders),
            adjust: s => Route(s, "profile", upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        Route(stack.Settings, "orders", upstream.Url, Orders);
        await stack.RestartGatewayAsync();

        var refused = await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Contains("\"error\":\"forbidden\"", refused.Body);
        Assert.Contains("Sign in again", refused.Body);
        Assert.Empty(upstream.Requests);
        Assert.DoesNotContain(await stack.Idp.EventsAsync("token"), e => e.GetProperty("grant_type").GetString() == "refresh_token");

        // The grant is intact: its own refresh still works, and a new sign-in names the resource.
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/profile/1", BrowserClient.Csrf)).Status);
        await browser.LoginAsync(stack.Origin);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/2", BrowserClient.Csrf)).Status);
        Assert.All((await stack.Idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "refresh_token"),
            e => Assert.Equal("success", e.GetProperty("outcome").GetString()));
        await AssertAudienceAsync([upstream.Requests.Last().Headers], await ProviderKeysAsync(stack), stack.Idp.Issuer, Orders);
    }

    private static void Resources(JsonObject config, params string[] indicators)
    {
        var resources = new JsonObject();
        foreach (var indicator in indicators)
        {
            resources[indicator] = new JsonObject { ["scope"] = "api" };
        }

        config["resources"] = resources;
    }

    private static void Route(Dictionary<string, string?> settings, string name, string upstream, string? resource = null)
    {
        settings[$"Portcullis:Apis:{name}:Path"] = $"/api/{name}";
        settings[$"Portcullis:Apis:{name}:Upstream"] = upstream;
        if (resource is not null)
        {
            settings[$"Portcullis:Apis:{name}:Resource"] = resource;
        }
    }

    private static async Task<int> RefreshesAsync(TestStack stack, string resource) =>
        (await stack.Idp.EventsAsync("token")).Count(e => e.GetProperty("grant_type").GetString() == "refresh_token"
            && e.TryGetProperty("resource", out var named) && named.GetString() == resource);

    internal static async Task<JsonWebKeySet> ProviderKeysAsync(TestStack stack) =>
        new(await stack.Idp.Http.GetStringAsync("/jwks"));

    /// <summary>What a resource server does with each bearer it received: signature by the provider's keys, issuer, its own audience.</summary>
    private static Task<HashSet<string>> AssertAudienceAsync(RecordingUpstream upstream, JsonWebKeySet jwks, string issuer, string audience) =>
        AssertAudienceAsync(upstream.Requests.Select(r => r.Headers), jwks, issuer, audience);

    internal static async Task<HashSet<string>> AssertAudienceAsync(IEnumerable<Dictionary<string, string>> requests, JsonWebKeySet jwks, string issuer, string audience)
    {
        var tokens = new HashSet<string>(StringComparer.Ordinal);
        Assert.NotEmpty(requests);
        foreach (var headers in requests)
        {
            var authorization = headers["Authorization"];
            Assert.StartsWith("Bearer ", authorization, StringComparison.Ordinal);
            var token = authorization["Bearer ".Length..];
            var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
            {
                IssuerSigningKeys = jwks.GetSigningKeys(),
                ValidIssuer = issuer,
                ValidAudience = audience,
                ValidTypes = ["at+jwt"],
                ValidateLifetime = false, // the gateway's clock is moved on; the provider's is not
                RequireSignedTokens = true,
            });
            Assert.True(result.IsValid, $"{audience}: {result.Exception?.Message}");
            Assert.Equal([audience], ((JsonWebToken)result.SecurityToken).Audiences);
            tokens.Add(token);
        }

        return tokens;
    }
}
