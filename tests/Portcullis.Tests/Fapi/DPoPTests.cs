using System.Net;
using System.Text.Json.Nodes;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Proxy;

namespace Portcullis.Tests.Fapi;

/// <summary>Issue 16 item 3: DPoP (RFC 9449) at the provider and on every upstream call of a <c>Token: user</c> route.</summary>
public sealed class DPoPTests
{
    /// <summary>oidc-provider demanding a DPoP nonce on every call that carries a proof.</summary>
    internal static void RequireDPoPNonce(JsonObject config, int gatewayPort) => config["requireDPoPNonce"] = true;

    [Fact]
    public async Task TokensAreBoundToTheGrantsKeyAndEveryUpstreamCallCarriesAValidProofAnsweringNonceChallenges()
    {
        await using var api = await DPoPResourceServer.StartAsync();
        api.DemandNonce = true;
        await using var stack = await TestStack.StartAsync(
            adjust: s =>
            {
                s["Portcullis:Providers:main:DPoP"] = "true";
                Routes.Add(s, "orders", "/api/orders", api.Url);
            },
            idpConfig: RequireDPoPNonce);
        using var browser = new BrowserClient();

        var landing = await browser.LoginAsync(stack.Origin, "alice");
        var first = await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf);
        var second = await browser.GetAsync($"{stack.Origin}/api/orders/2", BrowserClient.Csrf);
        api.CurrentNonce = "rotated-nonce";
        var third = await browser.GetAsync($"{stack.Origin}/api/orders/3", BrowserClient.Csrf);
        var user = await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, landing.Status);
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(HttpStatusCode.OK, third.Status);
        // Userinfo answered with the DPoP-bound token (its claims are in the session).
        Assert.Contains("Alice Example", user.Body, StringComparison.Ordinal);
        var verdicts = api.Verdicts.ToArray();
        // Nonce challenge on the first call and after the server rotated its nonce; the second call reused the kept one.
        Assert.Equal(new string?[] { "use_dpop_nonce", null, null, "use_dpop_nonce", null }, verdicts.Select(v => v.Problem).ToArray());
        Assert.All(verdicts, v => Assert.Equal("DPoP", v.Scheme));
        Assert.Single(verdicts.Select(v => v.Thumbprint).Distinct());
        // The provider's side: the code exchange carried a proof (after its own nonce challenge) and issued DPoP tokens.
        var exchanges = (await stack.Idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "authorization_code").ToArray();
        Assert.Equal(new[] { "error", "success" }, exchanges.Select(e => e.GetProperty("outcome").GetString()).ToArray());
        Assert.Equal("use_dpop_nonce", exchanges[0].GetProperty("error").GetString());
        Assert.All(exchanges, e => Assert.True(e.GetProperty("dpop").GetBoolean()));
        var issued = (await stack.Idp.TokenTypesAsync()).Single();
        Assert.Equal("DPoP", issued);
    }

    /// <summary>
    /// A provider that answers userinfo with a signed JWT (oidc-provider's jwtUserinfo) instead of JSON: the login goes
    /// on with the ID token's claims, as it does without DPoP. The DPoP path parsed the body as JSON and failed the login
    /// with 500, after the provider had issued the tokens.
    /// </summary>
    [Fact]
    public async Task AUserinfoAnswerThatIsNotJsonLeavesTheLoginToTheIdTokensClaims()
    {
        await using var stack = await TestStack.StartAsync(
            adjust: s => s["Portcullis:Providers:main:DPoP"] = "true",
            idpConfig: (config, _) =>
            {
                config["features"] = new JsonObject { ["jwtUserinfo"] = new JsonObject { ["enabled"] = true } };
                TestIdp.Client(config)["userinfo_signed_response_alg"] = "RS256";
            });
        using var browser = new BrowserClient();

        var landing = await browser.LoginAsync(stack.Origin, "alice");
        var user = await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, landing.Status);
        Assert.Equal(HttpStatusCode.OK, user.Status);
        Assert.Equal("DPoP", (await stack.Idp.TokenTypesAsync()).Single());
    }

    [Fact]
    public async Task ARefreshCarriesAProofAndTheRefreshedTokenStaysBoundToTheSameKey()
    {
        await using var api = await DPoPResourceServer.StartAsync();
        await using var stack = await TestStack.StartAsync(
            adjust: s =>
            {
                s["Portcullis:Providers:main:DPoP"] = "true";
                Routes.Add(s, "orders", "/api/orders", api.Url);
            },
            idpConfig: RequireDPoPNonce);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin, "alice");

        api.RejectNextValid = 1;
        var response = await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var refreshes = (await stack.Idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "refresh_token").ToArray();
        Assert.Equal("success", refreshes.Last().GetProperty("outcome").GetString());
        Assert.All(refreshes, e => Assert.True(e.GetProperty("dpop").GetBoolean()));
        var verdicts = api.Verdicts.ToArray();
        Assert.Equal(2, verdicts.Length);
        Assert.Single(verdicts.Select(v => v.Thumbprint).Distinct());
        Assert.All(verdicts, v => Assert.Equal("DPoP", v.Scheme));
        Assert.All(await stack.Idp.TokenTypesAsync(), t => Assert.Equal("DPoP", t));
    }

    [Fact]
    public async Task ADPoPBoundTokenIsNeverSentAsBearerNorWithABrowsersOwnProof()
    {
        await using var api = await DPoPResourceServer.StartAsync();
        await using var stack = await TestStack.StartAsync(
            adjust: s =>
            {
                s["Portcullis:Providers:main:DPoP"] = "true";
                Routes.Add(s, "orders", "/api/orders", api.Url);
            });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin, "alice");

        // A script in the page tries to slip its own proof and scheme in beside the gateway's.
        var response = await browser.GetAsync($"{stack.Origin}/api/orders/1", Routes.Csrf(("DPoP", "eyJ.forged.proof"), ("Authorization", "Bearer stolen")));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var verdict = Assert.Single(api.Verdicts);
        Assert.Null(verdict.Problem);
        Assert.Equal("DPoP", verdict.Scheme);
        // The provider refuses the bound token presented as Bearer: sending it so would be useless as well as wrong.
        var token = (await stack.Idp.TokensAsync()).Single().AccessToken!;
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{stack.Idp.Issuer}/me");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var userinfo = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, userinfo.StatusCode);
    }

    [Fact]
    public async Task AClientRouteGetsAClientCredentialsTokenBoundToTheGatewaysKeyAndSendsItWithAProof()
    {
        await using var api = await DPoPResourceServer.StartAsync();
        api.DemandNonce = true;
        await using var stack = await TestStack.StartAsync(
            adjust: s =>
            {
                s["Portcullis:Providers:main:DPoP"] = "true";
                Routes.Add(s, "inventory", "/api/inventory", api.Url, "client");
            },
            idpConfig: RequireDPoPNonce);
        using var anonymous = new BrowserClient();

        var first = await anonymous.GetAsync($"{stack.Origin}/api/inventory/1", BrowserClient.Csrf);
        // The API turns the token away once: the renewed token is bound to the same key and goes with a fresh proof.
        api.RejectNextValid = 1;
        var renewed = await anonymous.GetAsync($"{stack.Origin}/api/inventory/2", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, renewed.Status);
        // The provider's side: each client-credentials request carried a proof (the first after its nonce challenge).
        var requests = (await stack.Idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "client_credentials").ToArray();
        Assert.Equal(new[] { "error", "success", "success" }, requests.Select(e => e.GetProperty("outcome").GetString()).ToArray());
        Assert.All(requests, e => Assert.True(e.GetProperty("dpop").GetBoolean()));
        var jkt = Assert.Single(requests.Where(e => e.GetProperty("outcome").GetString() == "success").Select(e => e.GetProperty("dpop_jkt").GetString()).Distinct());
        var issued = (await stack.Idp.TokensAsync()).Where(t => t.GrantType == "client_credentials").Select(t => DPoPResourceServer.Hash(t.AccessToken!)).ToArray();
        Assert.Equal(2, issued.Length);
        Assert.All(await stack.Idp.TokenTypesAsync(), t => Assert.Equal("DPoP", t));
        // The resource server's side: never Bearer, and every accepted proof bound to the token it came with.
        var verdicts = api.Verdicts.ToArray();
        Assert.All(verdicts, v => Assert.Equal("DPoP", v.Scheme));
        Assert.Single(verdicts.Select(v => v.Thumbprint).Distinct());
        Assert.Equal(issued, verdicts.Where(v => v.Problem is null).Select(v => v.TokenSha256).ToArray());
        Assert.Equal(jkt, verdicts[0].Thumbprint);
    }
}
