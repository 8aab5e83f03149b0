using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Audit;
using Portcullis.Storage;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tokens;

namespace Portcullis.Tests.Lifecycle;

/// <summary><see cref="IUserTokens"/>: server code and background workers use a user's token without it reaching a browser.</summary>
public sealed class UserTokenTests
{
    [Fact]
    public async Task AWorkerGetsAValidRefreshedTokenForAUserWithNoLiveSessionAndEveryUseIsAudited()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 2, clock: clock, adjust: OfflineAccess);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var userId = (string)(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Single()[0]!;
        // The user closed the browser long ago: the session expired, the offline grant remains.
        await SqliteRows.ExecuteAsync(stack.Gateway.DataDirectory, "DELETE FROM sessions");
        clock.Advance(TimeSpan.FromSeconds(1.2)); // past the refresh point of the 2 s access token

        var result = await stack.Gateway.Get<IUserTokens>().GetForUserAsync(userId, provider: null, actor: "nightly-report");
        var again = await stack.Gateway.Get<IUserTokens>().GetForUserAsync(userId, provider: null, actor: "billing-export");

        Assert.True(result.Succeeded, $"{result.Error}: {result.Message}");
        Assert.True(again.Succeeded, $"{again.Error}: {again.Message}");
        var refreshed = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.Equal(refreshed.AccessToken, result.AccessToken);
        Assert.True(await stack.Idp.IsActiveAsync(result.AccessToken!));
        Assert.DoesNotContain(result.AccessToken!, result.ToString());

        // Every offline use is in the audit log, with its actor and marked offline (ADR 0027).
        var uses = await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.TokenUse));
        Assert.Equal(2, uses.Count);
        Assert.Equal(["billing-export", "nightly-report"], uses.Select(u => u.Actor!).Order(StringComparer.Ordinal));
        Assert.All(uses, use => Assert.Equal((userId, AuditOutcomes.Success, "offline"), (use.UserId, use.Outcome, use.Detail)));
    }

    [Fact]
    public async Task WithoutTheOfflineAccessOptionAWorkerIsRefusedWithAClearReasonAndTheRefusalIsAudited()
    {
        // The user granted offline_access at the provider, but the deployer did not allow workers (ADR 0027): the
        // user's consent alone no longer lets server code act for them while they are away.
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        Assert.NotNull((await stack.Idp.TokensAsync()).Single().RefreshToken);
        var userId = (string)(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Single()[0]!;

        var result = await stack.Gateway.Get<IUserTokens>().GetForUserAsync(userId, "main", "nightly-report");

        Assert.False(result.Succeeded);
        Assert.Equal("offline_access_not_enabled", result.Error);
        Assert.Contains("Portcullis:Tokens:OfflineAccess", result.Message);
        Assert.Single((await stack.Idp.TokensAsync())); // no token was asked for
        var refusal = Assert.Single(await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.TokenUse)));
        Assert.Equal(("nightly-report", userId, AuditOutcomes.Refused), (refusal.Actor, refusal.UserId, refusal.Outcome));
    }

    private static void OfflineAccess(Dictionary<string, string?> settings) => settings["Portcullis:Tokens:OfflineAccess"] = "true";

    [Fact]
    public async Task WithoutARefreshTokenAWorkerGetsAClearErrorAndIsAudited()
    {
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            OfflineAccess(s);
            s.Remove("Portcullis:Providers:main:Scopes:3"); // no offline_access scope, so no refresh token
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        Assert.Null((await stack.Idp.TokensAsync()).Single().RefreshToken);
        var userId = (string)(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Single()[0]!;
        var tokens = stack.Gateway.Get<IUserTokens>();

        var result = await tokens.GetForUserAsync(userId, "main", "nightly-report");
        var unknown = await tokens.GetForUserAsync("no-such-user", "main", "nightly-report");

        // A login without a refresh token is never kept for offline use (ADR 0027): there is no grant a worker may use.
        Assert.False(result.Succeeded);
        Assert.Equal("no_grant", result.Error);
        Assert.Contains("refresh token", result.Message);
        Assert.Equal("no_grant", unknown.Error);
        var refusals = await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.TokenUse));
        Assert.Equal(2, refusals.Count(e => e.Outcome == AuditOutcomes.Refused && e.Actor == "nightly-report"));
    }

    [Fact]
    public async Task ServerCodeInTheSameAppGetsTheCurrentUsersToken()
    {
        // An endpoint of the host application calls the provider's userinfo with the signed-in user's token.
        await using var stack = await TestStack.StartAsync(configure: builder => builder.Services
            .AddSingleton<TestIdpAddress>()
            .AddSingleton<IStartupFilter>(new AppEndpoint("/app/profile", async context =>
            {
                var result = await context.RequestServices.GetRequiredService<IUserTokens>().GetForCurrentUserAsync(context, "profile-page");
                if (!result.Succeeded)
                {
                    context.Response.StatusCode = 401;
                    await context.Response.WriteAsync(result.Error!);
                    return;
                }

                using var http = new HttpClient();
                using var request = new HttpRequestMessage(HttpMethod.Get, context.RequestServices.GetRequiredService<TestIdpAddress>().UserInfo);
                request.Headers.Authorization = new("Bearer", result.AccessToken);
                using var userInfo = await http.SendAsync(request);
                context.Response.StatusCode = (int)userInfo.StatusCode;
                await context.Response.WriteAsync(await userInfo.Content.ReadAsStringAsync());
            })));
        stack.Gateway.Get<TestIdpAddress>().UserInfo = $"{stack.Idp.Issuer}/me";
        using var browser = new BrowserClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/app/profile")).Status);
        await browser.LoginAsync(stack.Origin);
        var profile = await browser.GetAsync($"{stack.Origin}/app/profile");

        Assert.Equal(HttpStatusCode.OK, profile.Status);
        Assert.Contains("\"sub\":\"alice\"", profile.Body);
        Assert.Contains(await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.TokenUse)), e => e.Actor == "profile-page" && e.Outcome == AuditOutcomes.Success);
    }

    /// <summary>Where the host application's endpoint finds the provider (known only after the stack started).</summary>
    private sealed class TestIdpAddress
    {
        public string UserInfo { get; set; } = "";
    }

    private sealed class AppEndpoint(string path, RequestDelegate handler) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Map(path, branch => branch.Run(handler));
            next(app);
        };
    }
}
