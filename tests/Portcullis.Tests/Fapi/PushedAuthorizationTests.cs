using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Fapi;

/// <summary>Issue 16 item 2: pushed authorization requests (RFC 9126).</summary>
public sealed class PushedAuthorizationTests
{
    /// <summary>oidc-provider with PAR on and required for every authorization request.</summary>
    internal static void RequirePar(JsonObject config, int gatewayPort) =>
        config["features"] = new JsonObject
        {
            ["pushedAuthorizationRequests"] = new JsonObject { ["enabled"] = true, ["requirePushedAuthorizationRequests"] = true },
        };

    [Theory]
    [InlineData("Auto")]
    [InlineData("Require")]
    public async Task LoginGoesThroughAPushedRequestAndTheBrowserCarriesOnlyItsRequestUri(string mode)
    {
        await using var stack = await TestStack.StartAsync(
            adjust: s =>
            {
                s["Portcullis:Providers:main:PushedAuthorization"] = mode;
                // oidc-provider keeps offline_access only with prompt=consent on pushed requests (see tests/idp/server.mjs).
                s["Portcullis:Providers:main:AuthorizationParameters:prompt"] = "consent";
            },
            idpConfig: RequirePar);
        using var browser = new BrowserClient();

        var landing = await browser.LoginAsync(stack.Origin, "alice");

        Assert.Equal(HttpStatusCode.OK, landing.Status);
        var toProvider = browser.Responses.First(r => r.Uri.AbsolutePath == "/bff/login").Headers["Location"];
        var query = QueryHelpers.ParseQuery(new Uri(toProvider).Query);
        Assert.Equal(new[] { "client_id", "request_uri" }, query.Keys.Order().ToArray());
        Assert.StartsWith("urn:ietf:params:oauth:request_uri:", query["request_uri"].ToString(), StringComparison.Ordinal);
        var pushed = Assert.Single(await stack.Idp.EventsAsync("par"));
        Assert.Equal("success", pushed.GetProperty("outcome").GetString());
        Assert.Equal("client_secret_basic", pushed.GetProperty("client_auth").GetString());
        var issued = Assert.Single(await stack.Idp.TokensAsync(), t => t.GrantType == "authorization_code");
        Assert.NotNull(issued.RefreshToken);
        var user = await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, user.Status);
    }

    [Fact]
    public async Task RequireAgainstAProviderWithoutParStopsStartUpNamingTheKey()
    {
        // The default test provider has PAR turned off.
        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            TestStack.StartAsync(adjust: s => s["Portcullis:Providers:main:PushedAuthorization"] = "Require"));

        Assert.Contains("Portcullis:Providers:main:PushedAuthorization", exception.Message, StringComparison.Ordinal);
        Assert.Contains("pushed_authorization_request_endpoint", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NeverKeepsTheRequestInTheBrowsersUrlEvenWhenTheProviderOffersPar()
    {
        await using var stack = await TestStack.StartAsync(
            adjust: s => s["Portcullis:Providers:main:PushedAuthorization"] = "Never",
            idpConfig: (config, _) => config["features"] = new JsonObject { ["pushedAuthorizationRequests"] = new JsonObject { ["enabled"] = true } });
        using var browser = new BrowserClient();

        var landing = await browser.LoginAsync(stack.Origin, "alice");

        Assert.Equal(HttpStatusCode.OK, landing.Status);
        var toProvider = browser.Responses.First(r => r.Uri.AbsolutePath == "/bff/login").Headers["Location"];
        Assert.Contains("code_challenge=", toProvider, StringComparison.Ordinal);
        Assert.DoesNotContain("request_uri", toProvider, StringComparison.Ordinal);
        Assert.Empty(await stack.Idp.EventsAsync("par"));
    }
}
