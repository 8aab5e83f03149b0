using System.Net;
using System.Text.Json;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Endpoints;

public sealed class LogoutTests
{
    [Fact]
    public async Task LogoutRevokesTheRefreshTokenDeletesEverythingAndTheOldCookieStopsWorking()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        var refreshToken = (await stack.Idp.TokensAsync()).Single().RefreshToken!;
        Assert.True(await stack.Idp.IsActiveAsync(refreshToken));

        var response = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var expired = Assert.Single(response.SetCookies, c => c.StartsWith("__Host-portcullis=", StringComparison.Ordinal));
        Assert.Contains("expires=Thu, 01 Jan 1970", expired, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", expired);
        Assert.Contains("secure", expired);
        Assert.Contains("samesite=strict", expired);
        Assert.Contains("httponly", expired);

        var revocation = Assert.Single(await stack.Idp.EventsAsync("revocation"));
        Assert.Equal(refreshToken, revocation.GetProperty("token").GetString());
        Assert.False(await stack.Idp.IsActiveAsync(refreshToken));

        using var json = JsonDocument.Parse(response.Body);
        var logoutUrl = json.RootElement.GetProperty("logoutUrl").GetString()!;
        Assert.StartsWith($"{stack.Idp.Issuer}/session/end?", logoutUrl);
        Assert.Contains("client_id=bff", logoutUrl);
        Assert.Contains("post_logout_redirect_uri=" + Uri.EscapeDataString($"{stack.Origin}/"), logoutUrl);
        Assert.DoesNotContain("id_token_hint", logoutUrl);

        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM sessions"));
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM grants"));
        using var replay = new BrowserClient();
        replay.CookiesFor("localhost")["__Host-portcullis"] = cookie;
        Assert.Equal(HttpStatusCode.Unauthorized, (await replay.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Fact]
    public async Task LogoutWithAHostileReturnUrlIsRefusedAndKeepsTheSession()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        var response = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout?returnUrl=//evil.example", null, BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }
}
