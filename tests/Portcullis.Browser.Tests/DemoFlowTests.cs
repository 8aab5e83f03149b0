using Microsoft.Playwright;
using Portcullis.Browser.Tests.Infrastructure;
using Portcullis.Demo;

namespace Portcullis.Browser.Tests;

/// <summary>The demo as a person uses it, in a real Chromium: log in, see the name, call the API, log out.</summary>
public sealed class DemoFlowTests
{
    [Fact]
    public async Task LogInSeeTheNameCallTheApiAndLogOutWithoutTheSessionCookieEverVisibleToScript()
    {
        await using var demo = await DemoStack.StartAsync(new DemoStackOptions
        {
            GatewayPort = 0,
            ProviderPort = 0,
            ApiPort = 0,
            DataDirectory = Directory.CreateTempSubdirectory("portcullis-browser-").FullName,
        });
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();
        var cookiesSeenByScript = new List<string>();

        await page.GotoAsync(demo.GatewayUrl.ToString());
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed out");
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("1-signed-out") });

        await page.ClickAsync("#login");
        await page.FillAsync("#username", "alice");
        await page.FillAsync("#password", demo.Users["alice"]);
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("2-provider-login") });
        await page.ClickAsync("#login");

        // Back on the app: signed in on landing even though the session cookie is SameSite=Strict.
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed in", new() { Timeout = 60_000 });
        Assert.StartsWith(demo.GatewayUrl.ToString(), page.Url);
        Assert.DoesNotContain("/bff/", page.Url);
        Assert.DoesNotContain("code=", page.Url);
        Assert.DoesNotContain("state=", page.Url);
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed in");
        await Assertions.Expect(page.Locator("#user-name")).Not.ToBeEmptyAsync();
        cookiesSeenByScript.Add(await page.EvaluateAsync<string>("document.cookie"));
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("3-signed-in") });

        await page.ClickAsync("#call-api");
        await Assertions.Expect(page.Locator("#api-result")).ToContainTextAsync("subject");
        cookiesSeenByScript.Add(await page.EvaluateAsync<string>("document.cookie"));
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("4-api-called") });

        var sessionCookie = (await page.Context.CookiesAsync()).Single(c => c.Name == "__Host-portcullis");
        Assert.True(sessionCookie.HttpOnly);
        Assert.True(sessionCookie.Secure);
        Assert.Equal(SameSiteAttribute.Strict, sessionCookie.SameSite);
        Assert.All(cookiesSeenByScript, seen => Assert.DoesNotContain(sessionCookie.Value, seen));
        Assert.All(cookiesSeenByScript, seen => Assert.DoesNotContain("__Host-portcullis", seen));

        await page.ClickAsync("#logout");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed out", new() { Timeout = 60_000 });
        Assert.StartsWith(demo.GatewayUrl.ToString(), page.Url);
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("5-signed-out-again") });

        // The old session is gone on the server, whatever the browser still holds.
        var status = await page.EvaluateAsync<int>("fetch('/bff/user', { headers: { 'X-CSRF': '1' } }).then(r => r.status)");
        Assert.Equal(401, status);
    }
}
