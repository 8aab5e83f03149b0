using System.Net;
using System.Text.Json;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Agent;

public sealed class LoginFlowTests
{
    [Theory]
    [InlineData("client_secret_basic")]
    [InlineData("client_secret_post")]
    public async Task FullLoginAgainstOidcProviderSignsTheUserIn(string clientAuthentication)
    {
        await using var stack = await TestStack.StartAsync(clientAuthentication);
        using var browser = new BrowserClient();

        var landing = await browser.LoginAsync(stack.Origin, "alice", "/orders?tab=1");

        Assert.Equal(HttpStatusCode.OK, landing.Status);
        Assert.Contains("url=/orders?tab=1", WebUtility.HtmlDecode(landing.Body));
        var user = await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, user.Status);
        using var json = JsonDocument.Parse(user.Body);
        Assert.Equal("alice", json.RootElement.GetProperty("sub").GetString());
        Assert.Equal("Alice Example", json.RootElement.GetProperty("claims").GetProperty("name").GetString());
        Assert.True(json.RootElement.GetProperty("session").GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);

        // The provider saw a confidential client authenticate with the configured method and issued a refresh token.
        var tokens = await stack.Idp.TokensAsync();
        var issued = Assert.Single(tokens, t => t.GrantType == "authorization_code");
        Assert.NotNull(issued.RefreshToken);
    }

    [Fact]
    public async Task SessionCookieHasExactlyTheRequiredAttributesAndIsNotAToken()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();

        var landing = await browser.LoginAsync(stack.Origin);

        var setCookie = Assert.Single(landing.SetCookies, c => c.StartsWith("__Host-portcullis=", StringComparison.Ordinal));
        var attributes = setCookie.Split(';').Skip(1).Select(a => a.Trim().ToLowerInvariant()).ToHashSet();
        Assert.Equal(new HashSet<string> { "path=/", "secure", "samesite=strict", "httponly" }, attributes);
        var value = setCookie.Split(';')[0]["__Host-portcullis=".Length..];
        Assert.Equal(43, value.Length);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", value);
        var tokens = await stack.Idp.AllTokenValuesAsync();
        Assert.NotEmpty(tokens);
        Assert.DoesNotContain(tokens, t => t.Contains(value, StringComparison.Ordinal) || value.Contains(t, StringComparison.Ordinal));
    }

    [Fact]
    public async Task LandingPageRemovesCodeAndStateAndSendsNoReferrer()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();

        var landing = await browser.LoginAsync(stack.Origin, returnUrl: "/app");

        Assert.Equal("no-referrer", landing.Headers["Referrer-Policy"]);
        Assert.Equal("no-store", landing.Headers["Cache-Control"]);
        Assert.Contains("content=\"0;url=/app\"", landing.Body);
        Assert.DoesNotContain("code=", landing.Body);
        Assert.DoesNotContain("state=", landing.Body);
    }

    [Fact]
    public async Task TwoTabsFinishingInReverseOrderBothSucceed()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();

        var first = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login?returnUrl=/one", "alice");
        var second = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login?returnUrl=/two", "alice");

        var secondLanding = await browser.GetAsync(second);
        var firstLanding = await browser.GetAsync(first);

        Assert.Equal(HttpStatusCode.OK, secondLanding.Status);
        Assert.Contains("url=/two", secondLanding.Body);
        Assert.Equal(HttpStatusCode.OK, firstLanding.Status);
        Assert.Contains("url=/one", firstLanding.Body);
        // One binding cookie for all tabs: logins in parallel do not pile up cookies.
        Assert.Single(browser.CookiesFor("localhost").Keys, k => k.StartsWith("__Host-portcullis-login", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Fact]
    public async Task ManyAbandonedLoginsDoNotGrowCookiesOrBreakTheNextLogin()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();

        for (var i = 0; i < 30; i++)
        {
            await browser.GetAsync($"{stack.Origin}/bff/login?returnUrl=/abandoned{i}");
        }

        Assert.Single(browser.CookiesFor("localhost"));
        var landing = await browser.LoginAsync(stack.Origin);
        Assert.Equal(HttpStatusCode.OK, landing.Status);
    }

    [Fact]
    public async Task AnExistingSessionSurvivesAGatewayRestart()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        await stack.RestartGatewayAsync();

        var user = await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, user.Status);
        Assert.Contains("\"sub\":\"alice\"", user.Body);
    }
}
