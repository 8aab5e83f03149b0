using System.Net;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Providers;

public sealed class DiscordProviderTests
{
    [Fact]
    public async Task LoginWithDiscordUsesPkceAndShowsTheUsersClaims()
    {
        await using var stack = await ProviderStack.StartAsync(discord: true);
        using var browser = new BrowserClient();

        await stack.LoginAsync(browser, "discord", "nelly");

        var authorize = new Uri(browser.Responses[0].Headers["Location"]);
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(authorize.Query);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal(43, query["code_challenge"].ToString().Length);
        Assert.Equal("identify email", query["scope"]);
        Assert.False(query.ContainsKey("nonce"));

        var user = await stack.UserAsync(browser);
        var claims = user.GetProperty("claims");
        Assert.Equal("80351110224678912", user.GetProperty("sub").GetString());
        Assert.Equal("nelly", claims.GetProperty("login").GetString());
        Assert.Equal("Nelly", claims.GetProperty("name").GetString());
        Assert.Equal("nelly@example.com", claims.GetProperty("email").GetString());
        Assert.True(claims.GetProperty("email_verified").GetBoolean());
        Assert.Equal("https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png", claims.GetProperty("picture").GetString());
        Assert.Equal("basic", Assert.Single(stack.Discord!.Observed.TokenRequests).ClientAuthentication);
    }

    [Fact]
    public async Task AnUnverifiedDiscordEmailIsMarkedUnverified()
    {
        await using var stack = await ProviderStack.StartAsync(discord: true);
        using var browser = new BrowserClient();

        await stack.LoginAsync(browser, "discord", "mason");

        var claims = (await stack.UserAsync(browser)).GetProperty("claims");
        Assert.Equal("mason", claims.GetProperty("name").GetString());
        Assert.False(claims.GetProperty("email_verified").GetBoolean());
    }

    [Fact]
    public async Task DiscordTokensAreRefreshedWithRotationBeforeTheyExpire()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await ProviderStack.StartAsync(
            discord: true,
            prepare: s => s.Discord!.AccessTokenLifetime = TimeSpan.FromSeconds(4),
            adjust: TestStack.OrdersRoute(upstream.Url),
            clock: clock);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "discord", "nelly");

        for (var round = 1; round <= 2; round++)
        {
            clock.Advance(TimeSpan.FromSeconds(2.5)); // past the refresh point (half of the 4 s lifetime)
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/{round}", BrowserClient.Csrf)).Status);
            Assert.Equal(round, stack.Discord!.Observed.TokenRequestCount("refresh_token"));
        }

        // Each refresh used the refresh token the previous one returned (Discord rotates; a reused one is invalid_grant).
        Assert.All(stack.Discord!.Observed.TokenRequests, r => Assert.Equal(200, r.Status));
        Assert.Equal(2, upstream.Requests.Select(r => r.Headers["Authorization"]).Distinct().Count());
    }

    [Fact]
    public async Task A429FromDiscordDuringRefreshIs503WithRetryAfterAndKeepsTheSession()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await ProviderStack.StartAsync(
            discord: true,
            prepare: s =>
            {
                s.Discord!.AccessTokenLifetime = TimeSpan.FromSeconds(2);
                s.Discord.RetryAfterSeconds = 1.5;
            },
            adjust: TestStack.OrdersRoute(upstream.Url),
            clock: clock);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "discord", "nelly");
        var sessionsBefore = await stack.RowsAsync("SELECT key, grant_id FROM sessions");
        var tokensBefore = await TokensAsync(stack);

        stack.Discord!.RateLimitTokenRequests(1);
        clock.Advance(TimeSpan.FromSeconds(1.2)); // past the refresh point
        var limited = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, limited.Status);
        Assert.Contains("\"error\":\"provider_unavailable\"", limited.Body);
        Assert.Equal("2", limited.Headers["Retry-After"]);
        Assert.Empty(upstream.Requests);
        Assert.Equal(429, stack.Discord.Observed.TokenRequests.Last().Status);
        // Nothing was ended or changed: same session, same grant, same tokens. (The grant's row was written twice: the
        // in-flight marker before the token request and its removal after the answer, ADR 0022.)
        Assert.Equivalent(sessionsBefore, await stack.RowsAsync("SELECT key, grant_id FROM sessions"));
        Assert.Equal(tokensBefore, await TokensAsync(stack));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);

        // Once Discord lets us through, the same session refreshes and the call succeeds.
        var retried = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, retried.Status);
        Assert.Equal(2, stack.Discord.Observed.TokenRequestCount("refresh_token"));
    }

    [Fact]
    public async Task LogoutRevokesTheDiscordRefreshToken()
    {
        await using var stack = await ProviderStack.StartAsync(discord: true);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "discord", "nelly");
        var issued = stack.Discord!.Observed.IssuedTokens.ToArray();

        var logout = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, logout.Status);
        // Revocation is queued and sent in the background; the logout did not wait for it.
        await Eventually.RevocationsSentAsync(stack.Gateway);
        var revocation = Assert.Single(stack.Discord.Observed.Revocations);
        Assert.Equal("POST /oauth2/token/revoke", revocation.Method);
        Assert.Equal("refresh_token", revocation.TokenTypeHint);
        Assert.Equal("80351110224678912", revocation.UserId);
        Assert.All(issued, token => Assert.False(stack.Discord.IsTokenActive(token)));
        Assert.Empty(await stack.RowsAsync("SELECT * FROM grants"));
    }

    [Fact]
    public async Task ADiscord429DuringLoginIsAnOutageNotASignIn()
    {
        await using var stack = await ProviderStack.StartAsync(discord: true, prepare: s => s.Discord!.RateLimitApiRequests(1));
        using var browser = new BrowserClient();

        var callback = await stack.LoginAsync(browser, "discord", "nelly");

        Assert.Equal(HttpStatusCode.BadGateway, callback.Status);
        Assert.Contains("provider_unavailable", callback.Body);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM sessions"));
    }

    private static async Task<Portcullis.Vault.TokenSet> TokensAsync(ProviderStack stack)
    {
        var grantId = (string)(await stack.RowsAsync("SELECT id FROM grants")).Single()[0]!;
        var grant = await stack.Gateway.Get<Portcullis.Storage.IGrantStore>().GetGrantAsync(grantId, default);
        return stack.Gateway.Get<Portcullis.Tokens.GrantService>().ReadTokens(grant)!;
    }
}
