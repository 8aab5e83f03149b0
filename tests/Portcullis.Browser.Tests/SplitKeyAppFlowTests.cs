using Microsoft.Playwright;
using Portcullis.Browser.Tests.Infrastructure;

namespace Portcullis.Browser.Tests;

/// <summary>The gateway of <see cref="BrowserStack"/> in split-key mode (issue 15, ADR 0032).</summary>
public sealed class SplitKeyBrowserStack : BrowserStack
{
    protected override void Adjust(Dictionary<string, string?> settings) => settings["Portcullis:Session:Mode"] = "split-key";
}

/// <summary>
/// Issue 15 item 4 for split-key sessions: the demo app in Chromium against the real provider's pages. The cookie
/// carries the session's key; login, the API call, a refresh and logout behave as in server mode.
/// </summary>
public sealed class SplitKeyAppFlowTests(SplitKeyBrowserStack stack) : IClassFixture<SplitKeyBrowserStack>
{
    [Fact]
    public async Task LogInCallTheApiThroughARefreshAndLogOutWithTheKeyOnlyInTheCookie()
    {
        await using var context = await stack.NewContextAsync();
        var page = await context.NewPageAsync();

        await stack.LogInAsync(page);

        await Assertions.Expect(page.Locator("#user-name")).ToHaveTextAsync("Alice Example");
        var cookie = await BrowserStack.SessionCookieAsync(context);
        Assert.Equal((true, true, SameSiteAttribute.Strict, "/"), (cookie.HttpOnly, cookie.Secure, cookie.SameSite, cookie.Path));
        Assert.Equal(87, cookie.Value.Length); // {id}.{key}: two 256-bit values in base64url
        Assert.Equal('.', cookie.Value[43]);

        await page.ClickAsync("#call-api");
        await Assertions.Expect(page.Locator("#api-result")).ToContainTextAsync("HTTP 200");
        var login = (await stack.Idp.TokensAsync()).Last(t => t.GrantType == "authorization_code");
        Assert.Equal($"Bearer {login.AccessToken}", stack.Upstream.Requests.Last().Headers["Authorization"]);

        // Real: the shared gateway runs on the system clock; past half of the 6 s token the next call refreshes it,
        // sealed under the key this browser's cookie carries.
        await Task.Delay(TimeSpan.FromSeconds(BrowserStack.AccessTokenLifetimeSeconds / 2.0 + 0.5));
        var refreshesBefore = (await stack.Idp.TokensAsync()).Count(t => t.GrantType == "refresh_token");
        await page.ClickAsync("#call-api");
        await Assertions.Expect(page.Locator("#api-result")).ToContainTextAsync("HTTP 200");
        var refreshed = (await stack.Idp.TokensAsync()).Where(t => t.GrantType == "refresh_token").ToArray();
        Assert.Equal(refreshesBefore + 1, refreshed.Length);
        Assert.Equal($"Bearer {refreshed[^1].AccessToken}", stack.Upstream.Requests.Last().Headers["Authorization"]);
        Assert.DoesNotContain(cookie.Value[44..], stack.Gateway.Logs.All);

        // Logout through the provider's end-session page; the refreshed refresh token is revoked at the provider.
        await page.ClickAsync("#logout");
        await stack.WaitForProviderAsync(page);
        await page.ClickAsync("#logout-confirm");
        await page.WaitForURLAsync(stack.Origin + "/");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed out");
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (await stack.Idp.IsActiveAsync(refreshed[^1].RefreshToken!))
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the refresh token was not revoked at the provider");
            await Task.Delay(100); // real: the revocation is sent in the background
        }

        // The old cookie, id and key intact, opens nothing any more.
        await context.AddCookiesAsync([new Cookie
        {
            Name = cookie.Name, Value = cookie.Value, Domain = cookie.Domain, Path = cookie.Path,
            Secure = true, HttpOnly = true, SameSite = SameSiteAttribute.Strict,
        }]);
        Assert.Equal(401, await BrowserStack.UserStatusAsync(page));
        Assert.Equal(401, await BrowserStack.ApiStatusAsync(page));
    }
}
