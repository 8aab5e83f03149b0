using System.Net;
using Microsoft.AspNetCore.WebUtilities;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Agent;

/// <summary>Attacks on the login flow (SECURITY.md items 11–16): each is refused with a 4xx, causes no token request and creates no session.</summary>
public sealed class LoginAttackTests
{
    [Fact]
    public async Task ForgedStateIsRefusedWithoutATokenRequest()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        var callback = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login", "alice");

        var forged = ReplaceQuery(callback, "state", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        var response = await browser.GetAsync(forged);

        await AssertRefusedWithoutSessionAsync(stack, browser, response);
    }

    [Fact]
    public async Task MissingStateIsRefused()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        var callback = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login", "alice");

        var response = await browser.GetAsync(RemoveQuery(callback, "state"));

        await AssertRefusedWithoutSessionAsync(stack, browser, response);
    }

    [Fact]
    public async Task ReplayedCallbackIsRefusedAndSpendsNoSecondCode()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        var callback = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login", "alice");
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(callback)).Status);
        var tokenRequestsBefore = (await stack.Idp.EventsAsync("token")).Length;

        using var attacker = new BrowserClient();
        foreach (var cookie in browser.CookiesFor("localhost").Where(c => c.Key.Contains("login", StringComparison.Ordinal)))
        {
            attacker.CookiesFor("localhost")[cookie.Key] = cookie.Value;
        }

        var replay = await attacker.GetAsync(callback);

        Assert.Equal(HttpStatusCode.BadRequest, replay.Status);
        Assert.DoesNotContain(replay.SetCookies, c => c.StartsWith("__Host-portcullis=", StringComparison.Ordinal));
        Assert.Equal(tokenRequestsBefore, (await stack.Idp.EventsAsync("token")).Length);
    }

    [Fact]
    public async Task CallbackCompletedInAnotherBrowserIsRefusedAndTheRightfulBrowserStillFinishes()
    {
        await using var stack = await TestStack.StartAsync();
        using var victim = new BrowserClient();
        var callback = await victim.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login", "alice");

        using var attacker = new BrowserClient();
        await attacker.GetAsync($"{stack.Origin}/bff/login"); // the attacker has a binding cookie of its own
        var stolen = await attacker.GetAsync(callback);

        await AssertRefusedWithoutSessionAsync(stack, attacker, stolen);
        Assert.Equal(HttpStatusCode.OK, (await victim.GetAsync(callback)).Status);
    }

    [Fact]
    public async Task CodeInjectedIntoAnotherLoginFailsPkceAndCreatesNoSession()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        var first = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login?returnUrl=/a", "alice");
        var second = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login?returnUrl=/b", "alice");

        // The first login's code presented with the second login's state: the gateway sends the wrong PKCE verifier.
        var code = QueryHelpers.ParseQuery(new Uri(first).Query)["code"].ToString();
        var response = await browser.GetAsync(ReplaceQuery(second, "code", code));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.DoesNotContain(response.SetCookies, c => c.StartsWith("__Host-portcullis=", StringComparison.Ordinal));
        var tokenEvents = await stack.Idp.EventsAsync("token");
        Assert.Contains(tokenEvents, e => e.GetProperty("outcome").GetString() == "error");
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Theory]
    [InlineData("access_denied")]
    [InlineData("invalid_scope")]
    [InlineData("login_required")]
    public async Task ProviderErrorOnCallbackGivesAClearErrorAndNoSession(string error)
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        var callback = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login", "alice");
        var state = QueryHelpers.ParseQuery(new Uri(callback).Query)["state"].ToString();

        var response = await browser.GetAsync(
            $"{stack.Origin}/bff/callback/main?error={error}&state={state}&iss={Uri.EscapeDataString(stack.Idp.Issuer)}",
            new Dictionary<string, string> { ["Accept"] = "text/html" });

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains(error, response.Body);
        Assert.StartsWith("text/html", response.Headers["Content-Type"]);
        await AssertRefusedWithoutSessionAsync(stack, browser, response);
    }

    [Fact]
    public async Task WrongIssuerInTheAuthorizationResponseIsRefused()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        var callback = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login", "alice");

        var response = await browser.GetAsync(ReplaceQuery(callback, "iss", "https://evil.example"));

        await AssertRefusedWithoutSessionAsync(stack, browser, response);
    }

    [Fact]
    public async Task MissingIssuerIsRefusedBecauseTheProviderAdvertisesIt()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        var callback = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login", "alice");

        var response = await browser.GetAsync(RemoveQuery(callback, "iss"));

        await AssertRefusedWithoutSessionAsync(stack, browser, response);
    }

    [Theory]
    [InlineData("/bff/login?provider=nope")]
    [InlineData("/bff/callback/nope?code=x&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task UnknownProviderIsRefused(string path)
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();

        var response = await browser.GetAsync(stack.Origin + path);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("\"error\":\"invalid_request\"", response.Body);
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("//evil.example")]
    [InlineData("/\\evil.example")]
    [InlineData("\\\\evil.example")]
    [InlineData("/%2f%2fevil.example")]
    [InlineData("/%5cevil.example")]
    [InlineData("/\tevil")]
    [InlineData(" /ok")]
    [InlineData("javascript:alert(1)")]
    public async Task HostileReturnUrlIsRefusedBeforeAnythingHappens(string returnUrl)
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();

        var response = await browser.GetAsync($"{stack.Origin}/bff/login?returnUrl={Uri.EscapeDataString(returnUrl)}");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.False(response.Headers.ContainsKey("Location"));
        Assert.Empty(response.SetCookies);
    }

    [Fact]
    public async Task ExpiredLoginTransactionIsRefused()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(configure: b => Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<TimeProvider>(b.Services, clock));
        using var browser = new BrowserClient();
        var callback = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login", "alice");

        clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        var response = await browser.GetAsync(callback);

        await AssertRefusedWithoutSessionAsync(stack, browser, response);
    }

    private static async Task AssertRefusedWithoutSessionAsync(TestStack stack, BrowserClient browser, RecordedResponse response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.DoesNotContain(response.SetCookies, c => c.StartsWith("__Host-portcullis=", StringComparison.Ordinal));
        Assert.DoesNotContain(await stack.Idp.EventsAsync("token"), e => e.GetProperty("grant_type").GetString() == "authorization_code" && e.GetProperty("outcome").GetString() == "success");
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    private static string ReplaceQuery(string url, string name, string value)
    {
        var uri = new Uri(url);
        var query = QueryHelpers.ParseQuery(uri.Query).ToDictionary(q => q.Key, q => (string?)q.Value.ToString());
        query[name] = value;
        return QueryHelpers.AddQueryString(uri.GetLeftPart(UriPartial.Path), query);
    }

    private static string RemoveQuery(string url, string name)
    {
        var uri = new Uri(url);
        var query = QueryHelpers.ParseQuery(uri.Query).Where(q => q.Key != name).ToDictionary(q => q.Key, q => (string?)q.Value.ToString());
        return QueryHelpers.AddQueryString(uri.GetLeftPart(UriPartial.Path), query);
    }
}
