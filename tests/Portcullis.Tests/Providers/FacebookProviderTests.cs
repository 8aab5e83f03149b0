using System.Net;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Providers;

public sealed class FacebookProviderTests
{
    [Fact]
    public async Task LoginWithFacebookShowsTheUserFromMeWithAppSecretProof()
    {
        await using var stack = await ProviderStack.StartAsync(facebook: true);
        using var browser = new BrowserClient();

        var landing = await stack.LoginAsync(browser, "facebook", "mark");

        Assert.Equal(HttpStatusCode.OK, landing.Status);
        var user = await stack.UserAsync(browser);
        var claims = user.GetProperty("claims");
        Assert.Equal("10158837210938541", user.GetProperty("sub").GetString());
        Assert.Equal("Mark Example", claims.GetProperty("name").GetString());
        Assert.Equal("mark@example.com", claims.GetProperty("email").GetString());
        Assert.StartsWith("https://platform-lookaside.fbsbx.com/", claims.GetProperty("picture").GetString());
        // Facebook does not say whether the address is verified, so neither do we.
        Assert.False(claims.TryGetProperty("email_verified", out _));
        Assert.Equal(1, stack.Facebook!.AppSecretProofsSeen);
        Assert.Contains("GET /graph/v21.0/me", stack.Facebook.Observed.ApiRequests);
        Assert.Equal("post", Assert.Single(stack.Facebook.Observed.TokenRequests).ClientAuthentication);
    }

    [Fact]
    public async Task WithoutRefreshTokensAnExpiredFacebookTokenEndsTheSession()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await ProviderStack.StartAsync(
            facebook: true, prepare: s => s.Facebook!.AccessTokenLifetime = TimeSpan.FromSeconds(2), adjust: TestStack.OrdersRoute(upstream.Url), clock: clock);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "facebook", "mark");

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf)).Status);
        clock.Advance(TimeSpan.FromSeconds(2.2)); // past the token's expiry, for the gateway and the simulator alike
        var expired = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Unauthorized, expired.Status);
        Assert.Contains("reauthentication_required", expired.Body);
        Assert.Single(upstream.Requests);
        Assert.Single(stack.Facebook!.Observed.TokenRequests);
    }

    [Fact]
    public async Task TheLongLivedTokenExchangeReplacesTheShortLivedToken()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await ProviderStack.StartAsync(
            facebook: true,
            adjust: s =>
            {
                s["Portcullis:Providers:facebook:ExchangeForLongLivedToken"] = "true";
                TestStack.OrdersRoute(upstream.Url)(s);
            });
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "facebook", "mark");

        Assert.Equal(["authorization_code", "fb_exchange_token"], stack.Facebook!.Observed.TokenRequests.Select(r => r.GrantType));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf)).Status);
        var longLived = stack.Facebook.Observed.IssuedTokens.Last();
        Assert.Equal($"Bearer {longLived}", Assert.Single(upstream.Requests).Headers["Authorization"]);
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds((long)(await stack.RowsAsync("SELECT access_token_expires_at FROM grants")).Single()[0]!);
        Assert.True(expiresAt > DateTimeOffset.UtcNow.AddDays(59));
    }

    [Fact]
    public async Task LogoutDeletesTheFacebookPermissions()
    {
        await using var stack = await ProviderStack.StartAsync(facebook: true);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "facebook", "mark");
        var token = Assert.Single(stack.Facebook!.Observed.IssuedTokens);

        var logout = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, logout.Status);
        // Revocation is queued and sent in the background; the logout did not wait for it.
        await Eventually.RevocationsSentAsync(stack.Gateway);
        var revocation = Assert.Single(stack.Facebook.Observed.Revocations);
        Assert.Equal("DELETE /me/permissions", revocation.Method);
        Assert.Equal("10158837210938541", revocation.UserId);
        Assert.False(stack.Facebook.IsTokenActive(token));
        Assert.DoesNotContain(token, stack.Gateway.Logs.All);
    }

    [Fact]
    public async Task AGraphOAuthExceptionFromTheTokenEndpointFailsTheLoginCleanly()
    {
        await using var stack = await ProviderStack.StartAsync(facebook: true, adjust: s => s["Portcullis:Providers:facebook:ClientSecret"] = "wrong-secret");
        using var browser = new BrowserClient();

        var callback = await stack.LoginAsync(browser, "facebook", "mark");

        Assert.Equal(HttpStatusCode.BadRequest, callback.Status);
        Assert.Contains("login_failed", callback.Body);
        Assert.Equal(400, Assert.Single(stack.Facebook!.Observed.TokenRequests).Status);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM sessions"));
        Assert.DoesNotContain("wrong-secret", stack.Gateway.Logs.All);
    }
}
