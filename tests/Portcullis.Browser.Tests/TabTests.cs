using Microsoft.Playwright;
using Portcullis.Browser.Tests.Infrastructure;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Browser.Tests;

/// <summary>
/// Issue 6, case 7 (SECURITY.md item 19): tabs of one browser share the session; logins started side by side all
/// finish; abandoned logins leave no pile of cookies behind.
/// </summary>
public sealed class TabTests(BrowserStack stack) : IClassFixture<BrowserStack>
{
    [Fact]
    public async Task LogoutInOneTabMakesTheOtherTabsNextApiCallGet401()
    {
        await using var context = await stack.NewContextAsync();
        var first = await context.NewPageAsync();
        await stack.LogInAsync(first);
        var second = await context.NewPageAsync();
        await second.GotoAsync(stack.Origin + "/");
        await Assertions.Expect(second.Locator("#status")).ToHaveTextAsync("signed in");

        await first.ClickAsync("#logout");
        await stack.WaitForProviderAsync(first);

        await second.ClickAsync("#call-api");
        await Assertions.Expect(second.Locator("#api-result")).ToContainTextAsync("HTTP 401");
        await Assertions.Expect(second.Locator("#status")).ToHaveTextAsync("signed out");
        await second.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("tabs-1-other-tab-signed-out") });
    }

    [Fact]
    public async Task ThreeTabsStartingLoginsAtOnceAllEndSignedIn()
    {
        await using var context = await stack.NewContextAsync();
        var tabs = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => context.NewPageAsync()));

        // All three leave for the provider at the same moment, in a browser that has no cookie of the gateway yet.
        await Task.WhenAll(tabs.Select((tab, i) => tab.GotoAsync($"{stack.Origin}/bff/login?returnUrl=%2F%3Ftab%3D{i}")));
        foreach (var tab in tabs)
        {
            Assert.StartsWith(stack.Idp.Issuer, tab.Url);
        }

        // They finish in reverse order; the provider remembers the user after the first, so later tabs may skip its form.
        foreach (var (tab, i) in tabs.Select((tab, i) => (tab, i)).Reverse())
        {
            await tab.FillAsync("#username", "alice");
            await tab.FillAsync("#password", TestIdp.Password);
            await tab.ClickAsync("#login");
            await Assertions.Expect(tab).ToHaveURLAsync($"{stack.Origin}/?tab={i}");
            await Assertions.Expect(tab.Locator("#status")).ToHaveTextAsync("signed in");
        }

        foreach (var tab in tabs)
        {
            Assert.Equal(200, await BrowserStack.UserStatusAsync(tab));
        }
    }

    [Fact]
    public async Task TwentyAbandonedLoginsDoNotBreakTheNextOne()
    {
        await using var context = await stack.NewContextAsync();
        var network = NetworkRecorder.Attach(context);
        var page = await context.NewPageAsync();
        for (var i = 0; i < 20; i++)
        {
            await page.GotoAsync($"{stack.Origin}/bff/login?returnUrl=%2F");
            Assert.StartsWith(stack.Idp.Issuer, page.Url);
        }

        await stack.LogInAsync(page);
        Assert.Equal(200, await BrowserStack.UserStatusAsync(page));

        // One login-binding cookie is reused, not one per attempt: the Cookie header stays small.
        var gatewayCookies = (await context.CookiesAsync()).Where(c => c.Domain == "localhost").ToArray();
        Assert.True(gatewayCookies.Length <= 2, string.Join(", ", gatewayCookies.Select(c => c.Name)));
        var largestCookieHeader = (await network.RequestsAsync())
            .Where(r => r.Url.StartsWith(stack.Origin, StringComparison.Ordinal))
            .Max(r => r.Headers.GetValueOrDefault("cookie")?.Length ?? 0);
        Assert.True(largestCookieHeader < 512, $"a Cookie header of {largestCookieHeader} characters");
    }
}
