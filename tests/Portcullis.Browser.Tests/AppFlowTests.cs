using Microsoft.Playwright;
using Portcullis.Browser.Tests.Infrastructure;

namespace Portcullis.Browser.Tests;

/// <summary>
/// Issue 6, case 1: the demo app on the gateway, against the real provider's pages, as a person uses it
/// (SECURITY.md items 1, 5). Back button and reload after logout must not bring access back.
/// </summary>
public sealed class AppFlowTests(BrowserStack stack) : IClassFixture<BrowserStack>
{
    [Fact]
    public async Task LogInCallTheApiLogOutAndNeitherBackNorReloadNorTheOldCookieRestoresAccess()
    {
        await using var context = await stack.NewContextAsync();
        var page = await context.NewPageAsync();

        await stack.LogInAsync(page);

        // Signed in on landing, although the session cookie is SameSite=Strict and the callback came by a cross-site redirect.
        Assert.Equal(stack.Origin + "/", page.Url);
        await Assertions.Expect(page.Locator("#user-name")).ToHaveTextAsync("Alice Example");
        var cookie = await BrowserStack.SessionCookieAsync(context);
        Assert.True(cookie.HttpOnly);
        Assert.True(cookie.Secure);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Equal("/", cookie.Path);
        Assert.Equal("localhost", cookie.Domain); // host-only: no Domain attribute was sent
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("flow-1-signed-in") });

        // The API call goes through the proxy, which attaches the access token the provider issued.
        var upstreamBefore = stack.Upstream.Requests.Count;
        await page.ClickAsync("#call-api");
        await Assertions.Expect(page.Locator("#api-result")).ToContainTextAsync("HTTP 200");
        await Assertions.Expect(page.Locator("#api-result")).ToContainTextAsync(BrowserStack.ApiPath);
        var forwarded = stack.Upstream.Requests.Skip(upstreamBefore).Single();
        var accessTokens = (await stack.Idp.TokensAsync()).Select(t => t.AccessToken).OfType<string>().ToArray();
        Assert.Contains(forwarded.Headers["Authorization"], accessTokens.Select(t => "Bearer " + t));
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("flow-2-api-called") });

        // Logout: the app posts /bff/logout and follows the provider's end-session page back to the app.
        await page.ClickAsync("#logout");
        await stack.WaitForProviderAsync(page);
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("flow-3-provider-sign-out") });
        await page.ClickAsync("#logout-confirm");
        await page.WaitForURLAsync(stack.Origin + "/");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed out");
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == BrowserStack.SessionCookieName);
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("flow-4-signed-out") });
        var upstreamAfterLogout = stack.Upstream.Requests.Count;

        // Back to the page that showed the signed-in app: it asks the gateway again and is signed out.
        var steps = 0;
        do
        {
            await page.GoBackAsync();
        }
        while (!page.Url.StartsWith(stack.Origin, StringComparison.Ordinal) && ++steps < 4);

        Assert.StartsWith(stack.Origin, page.Url);
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed out");
        await Assertions.Expect(page.Locator("#user-name")).ToBeEmptyAsync();
        await page.ClickAsync("#call-api");
        await Assertions.Expect(page.Locator("#api-result")).ToContainTextAsync("HTTP 401");
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("flow-5-back-button") });

        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed out");

        // A client that kept the old cookie and sends it again gets nothing either (SECURITY.md item 5).
        await context.AddCookiesAsync([new Cookie
        {
            Name = cookie.Name, Value = cookie.Value, Domain = cookie.Domain, Path = cookie.Path,
            Secure = true, HttpOnly = true, SameSite = SameSiteAttribute.Strict,
        }]);
        Assert.Equal(401, await BrowserStack.UserStatusAsync(page));
        Assert.Equal(401, await BrowserStack.ApiStatusAsync(page));
        Assert.Equal(upstreamAfterLogout, stack.Upstream.Requests.Count);
    }

    [Fact]
    public async Task AProviderErrorOnTheCallbackShowsAReadablePageAndCreatesNoSession()
    {
        await using var context = await stack.NewContextAsync();
        var page = await context.NewPageAsync();
        var login = await page.RunAndWaitForResponseAsync(
            () => page.GotoAsync(stack.Origin + "/bff/login?returnUrl=%2F"),
            r => r.Url.StartsWith(stack.Origin + "/bff/login", StringComparison.Ordinal));

        // The user refuses at the provider, which sends them back with error=access_denied and the login's own state.
        var authorize = await login.HeaderValueAsync("location") ?? string.Empty;
        var state = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(authorize).Query).GetValueOrDefault("state").ToString();
        Assert.False(string.IsNullOrEmpty(state), "no state in " + authorize);
        var response = await page.GotoAsync($"{stack.Origin}/bff/callback/main?error=access_denied&state={state}&iss={Uri.EscapeDataString(stack.Idp.Issuer)}");

        Assert.Equal(400, response!.Status);
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Sign-in did not work");
        await Assertions.Expect(page.Locator("body")).ToContainTextAsync("access_denied");
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("flow-6-provider-error") });
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == BrowserStack.SessionCookieName);
        await page.GotoAsync(stack.Origin + "/");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed out");
    }
}
