using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Simulators;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Providers;

public sealed class GitHubProviderTests
{
    [Fact]
    public async Task LoginWithGitHubShowsTheUserWithTheirPrimaryVerifiedEmailAndNoToken()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true);
        using var browser = new BrowserClient();

        var landing = await stack.LoginAsync(browser, "github", "octocat");

        Assert.Equal(HttpStatusCode.OK, landing.Status);
        var user = await stack.UserAsync(browser);
        Assert.Equal("583231", user.GetProperty("sub").GetString());
        Assert.Equal("github", user.GetProperty("provider").GetString());
        var claims = user.GetProperty("claims");
        Assert.Equal("583231", claims.GetProperty("sub").GetString());
        Assert.Equal("octocat", claims.GetProperty("login").GetString());
        Assert.Equal("The Octocat", claims.GetProperty("name").GetString());
        Assert.Equal("octocat@example.com", claims.GetProperty("email").GetString());
        Assert.True(claims.GetProperty("email_verified").GetBoolean());
        Assert.StartsWith("https://avatars.githubusercontent.com/", claims.GetProperty("picture").GetString());

        // The token request asked for JSON (GitHub answers form-encoded otherwise) and carried the credentials in the body.
        var tokenRequest = Assert.Single(stack.GitHub!.Observed.TokenRequests);
        Assert.Contains("application/json", tokenRequest.Accept);
        Assert.Equal("post", tokenRequest.ClientAuthentication);
        Assert.Null(tokenRequest.Error);
        Assert.Contains("GET /api/user/emails", stack.GitHub.Observed.ApiRequests);

        // No GitHub token reached the browser or the logs.
        var issued = await stack.AllIssuedTokensAsync();
        Assert.NotEmpty(issued);
        foreach (var token in issued)
        {
            Assert.All(browser.Responses, r => Assert.DoesNotContain(token, r.Everything));
            Assert.DoesNotContain(token, stack.Gateway.Logs.All);
        }

        Assert.DoesNotContain(ProviderStack.ClientSecret, stack.Gateway.Logs.All);
    }

    [Fact]
    public async Task AnUnverifiedPrimaryEmailIsNotClaimedAndTheLoginNamesTheUser()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true);
        using var browser = new BrowserClient();

        await stack.LoginAsync(browser, "github", "hubot");

        var claims = (await stack.UserAsync(browser)).GetProperty("claims");
        Assert.Equal("9919", claims.GetProperty("sub").GetString());
        Assert.Equal("hubot", claims.GetProperty("name").GetString());
        Assert.False(claims.TryGetProperty("email", out _));
        Assert.False(claims.TryGetProperty("email_verified", out _));
    }

    [Fact]
    public async Task GitHubErrorsSentWithHttp200FailTheLoginInsteadOfLookingLikeSuccessOrAnOutage()
    {
        // A wrong secret: GitHub answers incorrect_client_credentials with HTTP 200.
        await using var stack = await ProviderStack.StartAsync(gitHub: true, adjust: s => s["Portcullis:Providers:github:ClientSecret"] = "not-the-secret");
        using var browser = new BrowserClient();

        var callback = await stack.LoginAsync(browser, "github", "octocat");

        Assert.Equal(HttpStatusCode.BadRequest, callback.Status);
        Assert.Contains("\"error\":\"login_failed\"", callback.Body);
        Assert.Equal("incorrect_client_credentials", Assert.Single(stack.GitHub!.Observed.TokenRequests).Error);
        Assert.DoesNotContain(callback.SetCookies, c => c.StartsWith("__Host-portcullis=", StringComparison.Ordinal));
        Assert.Empty(await stack.RowsAsync("SELECT * FROM sessions"));
        Assert.Contains("incorrect_client_credentials", stack.Gateway.Logs.All);
    }

    [Fact]
    public async Task ADeniedAuthorizationGivesALoginFailedPageAndNoSession()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true, prepare: s => s.GitHub!.DenyNextAuthorization = true);
        using var browser = new BrowserClient();

        var callback = await stack.LoginAsync(browser, "github", "octocat");

        Assert.Equal(HttpStatusCode.BadRequest, callback.Status);
        Assert.Contains("access_denied", callback.Body);
        Assert.Empty(stack.GitHub!.Observed.TokenRequests);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM sessions"));
    }

    [Fact]
    public async Task NonExpiringGitHubTokensAreUsedAsTheyAreAndNeverRefreshed()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await ProviderStack.StartAsync(gitHub: true, adjust: TestStack.OrdersRoute(upstream.Url));
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "github", "octocat");

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/2", BrowserClient.Csrf)).Status);

        var token = Assert.Single(stack.GitHub!.Observed.IssuedTokens);
        Assert.StartsWith("gho_", token);
        Assert.All(upstream.Requests, r => Assert.Equal($"Bearer {token}", r.Headers["Authorization"]));
        Assert.Equal(0, stack.GitHub.Observed.TokenRequestCount("refresh_token"));
    }

    [Fact]
    public async Task ExpiringGitHubTokensAreRefreshedAndTheRotatedRefreshTokenIsKept()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await ProviderStack.StartAsync(
            gitHub: true,
            prepare: s =>
            {
                s.GitHub!.ExpiringUserTokens = true;
                s.GitHub.AccessTokenLifetime = TimeSpan.FromSeconds(4);
            },
            adjust: TestStack.OrdersRoute(upstream.Url),
            clock: clock);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "github", "octocat");

        // Refresh is due after half of the 4 s lifetime; twice in a row proves the rotated refresh token was stored.
        for (var round = 1; round <= 2; round++)
        {
            clock.Advance(TimeSpan.FromSeconds(2.5));
            var response = await browser.GetAsync($"{stack.Origin}/api/orders/{round}", BrowserClient.Csrf);
            Assert.Equal(HttpStatusCode.OK, response.Status);
            Assert.Equal(round, stack.GitHub!.Observed.TokenRequestCount("refresh_token"));
        }

        Assert.All(stack.GitHub!.Observed.TokenRequests, r => Assert.Null(r.Error));
        var bearers = upstream.Requests.Select(r => r.Headers["Authorization"]).ToArray();
        Assert.Equal(2, bearers.Distinct().Count());
        Assert.All(bearers, b => Assert.StartsWith("Bearer ghu_", b));
    }

    [Fact]
    public async Task ASessionNeverOutlivesTheRefreshTokenLifetimeGitHubAnnounces()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await ProviderStack.StartAsync(
            gitHub: true,
            prepare: s => s.GitHub!.ExpiringUserTokens = true,
            adjust: settings =>
            {
                TestStack.OrdersRoute(upstream.Url)(settings);
                // An operator who allows year-long sessions still gets no session past the refresh token's six months.
                settings["Portcullis:Session:AbsoluteTimeout"] = "365.00:00:00";
                settings["Portcullis:Session:IdleTimeout"] = "365.00:00:00";
            },
            clock: clock);
        using var browser = new BrowserClient();
        var loginAt = clock.GetUtcNow();
        await stack.LoginAsync(browser, "github", "octocat");

        var user = JsonDocument.Parse((await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Body).RootElement;
        var absolute = user.GetProperty("session").GetProperty("absoluteExpiresAt").GetDateTimeOffset();
        var refreshTokenDies = loginAt + TimeSpan.FromSeconds(GitHubSimulator.RefreshTokenLifetimeSeconds);
        Assert.InRange(absolute, refreshTokenDies - TimeSpan.FromSeconds(5), refreshTokenDies + TimeSpan.FromSeconds(5));

        clock.Advance(TimeSpan.FromSeconds(GitHubSimulator.RefreshTokenLifetimeSeconds + 10));
        var after = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Unauthorized, after.Status);
        Assert.Empty(upstream.Requests);
        Assert.Equal(0, stack.GitHub!.Observed.TokenRequestCount("refresh_token")); // no dead refresh token presented
    }

    [Fact]
    public async Task ADeadGitHubRefreshTokenReportedWithHttp200EndsTheSession()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await ProviderStack.StartAsync(
            gitHub: true,
            prepare: s =>
            {
                s.GitHub!.ExpiringUserTokens = true;
                s.GitHub.AccessTokenLifetime = TimeSpan.FromSeconds(2);
            },
            adjust: TestStack.OrdersRoute(upstream.Url),
            clock: clock);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "github", "octocat");

        // The user revokes the app at GitHub: the refresh token is gone and GitHub says bad_refresh_token with HTTP 200.
        stack.GitHub!.RevokeUserAuthorization("583231");
        clock.Advance(TimeSpan.FromSeconds(1.2)); // past the refresh point
        var response = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Contains("\"error\":\"reauthentication_required\"", response.Body);
        Assert.Equal("bad_refresh_token", stack.GitHub.Observed.TokenRequests.Last().Error);
        Assert.Empty(upstream.Requests);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM sessions"));
        Assert.Empty(await stack.RowsAsync("SELECT * FROM grants"));
    }

    [Fact]
    public async Task LogoutDeletesTheAppsGrantAtGitHub()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "github", "octocat");
        var token = Assert.Single(stack.GitHub!.Observed.IssuedTokens);

        var logout = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, logout.Status);
        Assert.Contains("\"logoutUrl\":null", logout.Body);
        // Revocation is queued and sent in the background; the logout did not wait for it.
        await Eventually.RevocationsSentAsync(stack.Gateway);
        var revocation = Assert.Single(stack.GitHub.Observed.Revocations);
        Assert.Equal("DELETE /applications/{client_id}/grant", revocation.Method);
        Assert.Equal("583231", revocation.UserId);
        Assert.True(revocation.TokensRevoked >= 1);
        Assert.False(stack.GitHub.IsTokenActive(token));
        Assert.Empty(await stack.RowsAsync("SELECT * FROM grants"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }
}
