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

        await Eventually.RevocationsSentAsync(stack.Gateway);
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

public sealed class LogoutEverywhereAndRateLimitTests
{
    [Fact]
    public async Task LogoutEverywhereEndsEverySessionOfTheUserAndRevokesTheGrant()
    {
        await using var stack = await TestStack.StartAsync();
        using var laptop = new BrowserClient();
        using var phone = new BrowserClient();
        using var bob = new BrowserClient();
        await laptop.LoginAsync(stack.Origin, "alice");
        await phone.LoginAsync(stack.Origin, "alice");
        await bob.LoginAsync(stack.Origin, "bob");

        var response = await laptop.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout?everywhere=true", null, BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        // Each of alice's sessions had its own grant (ADR 0027): both refresh tokens are revoked, in no particular order.
        await Eventually.RevocationsSentAsync(stack.Gateway);
        var alicesTokens = (await stack.Idp.TokensAsync()).Where(t => t.GrantType == "authorization_code").Take(2).Select(t => t.RefreshToken).Order().ToArray();
        var revoked = (await stack.Idp.EventsAsync("revocation")).Select(e => e.GetProperty("token").GetString()).Order().ToArray();
        Assert.Equal(alicesTokens, revoked);
        foreach (var token in alicesTokens)
        {
            Assert.False(await stack.Idp.IsActiveAsync(token!));
        }
    }

    [Fact]
    public async Task PlainLogoutOnOneDeviceKeepsTheOtherDevicesGrant()
    {
        await using var stack = await TestStack.StartAsync();
        using var laptop = new BrowserClient();
        using var phone = new BrowserClient();
        await laptop.LoginAsync(stack.Origin, "alice");
        await phone.LoginAsync(stack.Origin, "alice");

        await laptop.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, (await phone.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await laptop.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        // The second login superseded the first refresh token, which was revoked then; logout revoked nothing more.
        await Eventually.RevocationsSentAsync(stack.Gateway);
        var revocations = await stack.Idp.EventsAsync("revocation");
        var firstRefreshToken = (await stack.Idp.TokensAsync()).First().RefreshToken;
        Assert.Equal(firstRefreshToken, Assert.Single(revocations).GetProperty("token").GetString());
    }

    [Fact]
    public async Task ALoginFloodFromOneAddressGets429()
    {
        await using var stack = await TestStack.StartAsync(adjust: s => s["Portcullis:RateLimit:LoginPerMinute"] = "5");
        using var browser = new BrowserClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            using var fresh = new BrowserClient();
            statuses.Add((await fresh.GetAsync($"{stack.Origin}/bff/login")).Status);
        }

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.Found));
        Assert.Equal(2, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.Equal(5, (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM login_transactions")).Count);

        // Per client address, not for everyone (SECURITY.md item 36: a flood is not an outage): another address still
        // signs in, and a flood of forged callbacks from a third is limited as well.
        Assert.Equal(302, (await Proxy.RawHttp.SendAsync(stack.Gateway.Port, "/bff/login", from: System.Net.IPAddress.Parse("127.0.0.2"))).Status);
        var callbacks = new List<int>();
        for (var i = 0; i < 7; i++)
        {
            callbacks.Add((await Proxy.RawHttp.SendAsync(stack.Gateway.Port, "/bff/callback/main?state=forged&code=forged", from: System.Net.IPAddress.Parse("127.0.0.3"))).Status);
        }

        Assert.Equal(5, callbacks.Count(s => s == 400));
        Assert.Equal(2, callbacks.Count(s => s == 429));
    }
}
