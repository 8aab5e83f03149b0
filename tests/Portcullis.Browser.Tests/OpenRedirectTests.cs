using Microsoft.Playwright;
using Portcullis.Browser.Tests.Infrastructure;

namespace Portcullis.Browser.Tests;

/// <summary>
/// Issue 6, case 6 (SECURITY.md item 16): login and logout with hostile <c>returnUrl</c> variants, followed by Chromium
/// itself, end on the gateway's own origin. The "evil" host is the attacker site, so a redirect that got out would show
/// up in its request log; a control with a good local path shows the redirect is really followed.
/// </summary>
public sealed class OpenRedirectTests(BrowserStack stack) : IClassFixture<BrowserStack>
{
    private string Evil => new Uri(stack.Attacker.Origin).Authority;

    /// <summary>Values of <c>returnUrl</c> a browser would take for another host, a script, or a header split.</summary>
    private string[] HostileReturnUrls =>
    [
        $"//{Evil}/",
        $"///{Evil}/",
        $"/\\{Evil}/",
        $"\\\\{Evil}/",
        $"\\/{Evil}/",
        $"http://{Evil}/",
        $"https://{Evil}/",
        $"http:{Evil}",
        $"http:/{Evil}/",
        $"%2F%2F{Evil}/",
        $"/%2F{Evil}/",
        $"%5C%5C{Evil}/",
        $"/%5C{Evil}/",
        $"/\t/{Evil}/",
        $"/%09/{Evil}/",
        $" //{Evil}/",
        $"/\r\nLocation: http://{Evil}/",
        "javascript:alert(document.domain)",
        "data:text/html,<script>alert(document.domain)</script>",
    ];

    [Fact]
    public async Task LoginWithAHostileReturnUrlEndsOnTheGatewaysOwnOrigin()
    {
        await using var context = await stack.NewContextAsync();
        var page = await context.NewPageAsync();
        var dialogs = WatchDialogs(page);
        var hitsBefore = stack.Attacker.Hits.Count;

        // Control: a local returnUrl is where the login really ends.
        await page.GotoAsync(stack.Origin + "/bff/login?returnUrl=" + Uri.EscapeDataString("/index.html?from=login"));
        await page.FillAsync("#username", "alice");
        await page.FillAsync("#password", Portcullis.Tests.Infrastructure.TestIdp.Password);
        await page.ClickAsync("#login");
        await Assertions.Expect(page).ToHaveURLAsync(stack.Origin + "/index.html?from=login");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed in");

        foreach (var returnUrl in HostileReturnUrls)
        {
            foreach (var query in new[] { Uri.EscapeDataString(returnUrl), returnUrl.Replace("\r", "%0D").Replace("\n", "%0A").Replace("\t", "%09").Replace(" ", "%20") })
            {
                var response = await page.GotoAsync(stack.Origin + "/bff/login?returnUrl=" + query);
                Assert.Equal(stack.Origin, new Uri(page.Url).GetLeftPart(UriPartial.Authority));
                Assert.Equal(400, response!.Status);
                await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Sign-in did not work");
            }
        }

        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("open-redirect-1-login-refused") });
        Assert.Equal(hitsBefore, stack.Attacker.Hits.Count);
        Assert.Empty(dialogs);
    }

    [Fact]
    public async Task LogoutWithAHostileReturnUrlEndsOnTheGatewaysOwnOrigin()
    {
        await using var context = await stack.NewContextAsync();
        var page = await context.NewPageAsync();
        var dialogs = WatchDialogs(page);
        var hitsBefore = stack.Attacker.Hits.Count;
        await stack.LogInAsync(page);

        // Signed in: a logout naming a foreign place is refused and ends nothing.
        foreach (var returnUrl in HostileReturnUrls)
        {
            Assert.Equal(400, await LogOutAsync(page, returnUrl, follow: false));
        }

        Assert.Equal(200, await BrowserStack.UserStatusAsync(page));

        // Signed out, the gateway answers a good returnUrl as the place to go (control), and refuses the rest; the app
        // follows what it is given, or goes home.
        await context.ClearCookiesAsync();
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed out");
        Assert.Equal(200, await LogOutAsync(page, "/index.html?from=logout", follow: true));
        await Assertions.Expect(page).ToHaveURLAsync(stack.Origin + "/index.html?from=logout");
        foreach (var returnUrl in HostileReturnUrls)
        {
            Assert.Equal(400, await LogOutAsync(page, returnUrl, follow: true));
            await page.WaitForURLAsync(stack.Origin + "/");
        }

        Assert.Equal(hitsBefore, stack.Attacker.Hits.Count);
        Assert.Empty(dialogs);
    }

    /// <summary>The app's logout with a <c>returnUrl</c>; with <paramref name="follow"/> the page then goes where the gateway said, as app.js does.</summary>
    private static async Task<int> LogOutAsync(IPage page, string returnUrl, bool follow)
    {
        var answer = await page.EvaluateAsync<string[]>("""
            async (returnUrl) => {
              const response = await fetch('/bff/logout?returnUrl=' + encodeURIComponent(returnUrl), { method: 'POST', headers: { 'X-CSRF': '1' } });
              const target = response.ok ? (await response.json()).logoutUrl : null;
              return [String(response.status), target ?? '/'];
            }
            """, returnUrl);
        if (follow)
        {
            var loaded = new TaskCompletionSource();
            void OnLoad(object? sender, IPage loadedPage) => loaded.TrySetResult();
            page.Load += OnLoad;
            await page.EvaluateAsync("target => { location.href = target; }", answer[1]);
            await loaded.Task.WaitAsync(TimeSpan.FromSeconds(20));
            page.Load -= OnLoad;
        }

        return int.Parse(answer[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static List<string> WatchDialogs(IPage page)
    {
        var dialogs = new List<string>();
        page.Dialog += async (_, dialog) =>
        {
            dialogs.Add(dialog.Message);
            await dialog.DismissAsync();
        };
        return dialogs;
    }
}
