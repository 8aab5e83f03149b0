using Microsoft.Playwright;
using Portcullis.Browser.Tests.Infrastructure;

namespace Portcullis.Browser.Tests;

/// <summary>The gateway of <see cref="BrowserStack"/> in stateless mode (issue 15, ADR 0033): no store, no operator page.</summary>
public sealed class StatelessBrowserStack : BrowserStack
{
    protected override void Adjust(Dictionary<string, string?> settings)
    {
        settings["Portcullis:Session:Mode"] = "stateless";
        // The operator page needs sessions on the server: refused at start-up in this mode.
        settings.Remove("Portcullis:Admin:Policy");
        var dataSource = settings["Portcullis:Store:ConnectionString"]!["Data Source=".Length..];
        settings["Portcullis:DataDirectory"] = Path.GetDirectoryName(dataSource);
        settings.Remove("Portcullis:Store:Kind");
        settings.Remove("Portcullis:Store:ConnectionString");
    }
}

/// <summary>
/// Issue 15 item 4 for stateless sessions: the demo app in Chromium against the real provider's pages. The browser
/// holds the sealed session and, on the API routes' and logout's paths only, the sealed refresh token; a refresh
/// rewrites them; logout revokes at the provider and the browser keeps no cookie of the gateway's.
/// </summary>
public sealed class StatelessAppFlowTests(StatelessBrowserStack stack) : IClassFixture<StatelessBrowserStack>
{
    private const string RefreshCookieName = "__Secure-portcullis-rt";

    [Fact]
    public async Task LogInCallTheApiThroughARefreshAndLogOutWithTheTokensSealedInTheCookies()
    {
        await using var context = await stack.NewContextAsync();
        var page = await context.NewPageAsync();

        await stack.LogInAsync(page);

        await Assertions.Expect(page.Locator("#user-name")).ToHaveTextAsync("Alice Example");
        var cookie = await BrowserStack.SessionCookieAsync(context);
        Assert.Equal((true, true, SameSiteAttribute.Strict, "/"), (cookie.HttpOnly, cookie.Secure, cookie.SameSite, cookie.Path));
        var refreshCookies = (await context.CookiesAsync()).Where(c => c.Name == RefreshCookieName).ToList();
        Assert.Equal(["/api/live", BrowserStack.ApiPath, "/bff/logout"], refreshCookies.Select(c => c.Path).Order(StringComparer.Ordinal));
        Assert.All(refreshCookies, c => Assert.Equal((true, true, SameSiteAttribute.Strict), (c.HttpOnly, c.Secure, c.SameSite)));
        // Nothing the page script can read: the app sees no cookie of the gateway's.
        Assert.Equal("", await page.EvaluateAsync<string>("document.cookie"));

        await page.ClickAsync("#call-api");
        await Assertions.Expect(page.Locator("#api-result")).ToContainTextAsync("HTTP 200");
        var login = (await stack.Idp.TokensAsync()).Last(t => t.GrantType == "authorization_code");
        Assert.Equal($"Bearer {login.AccessToken}", stack.Upstream.Requests.Last().Headers["Authorization"]);
        Assert.DoesNotContain(login.AccessToken!, cookie.Value);

        // Real: the shared gateway runs on the system clock; past half of the 6 s token the next call refreshes it and
        // answers with new cookies.
        await Task.Delay(TimeSpan.FromSeconds(BrowserStack.AccessTokenLifetimeSeconds / 2.0 + 0.5));
        await page.ClickAsync("#call-api");
        await Assertions.Expect(page.Locator("#api-result")).ToContainTextAsync("HTTP 200");
        var refreshed = (await stack.Idp.TokensAsync()).Where(t => t.GrantType == "refresh_token").ToArray();
        Assert.Single(refreshed);
        Assert.Equal($"Bearer {refreshed[0].AccessToken}", stack.Upstream.Requests.Last().Headers["Authorization"]);
        Assert.NotEqual(cookie.Value, (await BrowserStack.SessionCookieAsync(context)).Value);
        var before = await context.CookiesAsync();

        // Logout through the provider's end-session page: revoked at once (no outbox), every cookie of the gateway's gone.
        await page.ClickAsync("#logout");
        await stack.WaitForProviderAsync(page);
        await page.ClickAsync("#logout-confirm");
        await page.WaitForURLAsync(stack.Origin + "/");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed out");
        Assert.False(await stack.Idp.IsActiveAsync(refreshed[0].RefreshToken!));
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name.StartsWith("__Host-portcullis", StringComparison.Ordinal) && !c.Name.StartsWith("__Host-portcullis-login", StringComparison.Ordinal) || c.Name == RefreshCookieName);

        // The cookies kept from before logout: once the access token is due, the revoked refresh token opens nothing.
        await context.AddCookiesAsync(before.Where(c => c.Name == BrowserStack.SessionCookieName || c.Name == RefreshCookieName).Select(c => new Cookie
        {
            Name = c.Name, Value = c.Value, Domain = c.Domain, Path = c.Path, Secure = true, HttpOnly = true, SameSite = SameSiteAttribute.Strict,
        }));
        await Task.Delay(TimeSpan.FromSeconds(BrowserStack.AccessTokenLifetimeSeconds / 2.0 + 0.5));
        Assert.Equal(401, await BrowserStack.ApiStatusAsync(page));
        Assert.Equal(401, await BrowserStack.UserStatusAsync(page)); // the refused refresh expired the cookies
    }
}
