using System.Net;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Providers;

namespace Portcullis.Tests.Authorization;

/// <summary>Issue 5 item 4: a route open only to holders of a Discord role in one guild, asked of Discord with the user's token.</summary>
public sealed class DiscordRolePolicyTests
{
    private const string MemberPath = $"GET /api/v10/users/@me/guilds/{PolicyStacks.Guild}/member";

    [Fact]
    public async Task AMemberWithoutTheRoleIsRefusedWithAReasonAndAModeratorIsAdmitted()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await PolicyStacks.DiscordAsync(upstream, TimeSpan.FromMinutes(5));
        using var mason = new BrowserClient();
        using var nelly = new BrowserClient();
        using var ghost = new BrowserClient();
        await stack.LoginAsync(mason, "discord", "mason");
        await stack.LoginAsync(nelly, "discord", "nelly");
        await stack.LoginAsync(ghost, "discord", "ghost");

        var refused = await mason.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf);
        var stranger = await ghost.GetAsync($"{stack.Origin}/api/orders/2", BrowserClient.Csrf);
        var admitted = await nelly.GetAsync($"{stack.Origin}/api/orders/3", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Contains("\"error\":\"forbidden\"", refused.Body);
        Assert.Contains("You are not a moderator of Portcullis HQ.", refused.Body);
        Assert.Equal(HttpStatusCode.Forbidden, stranger.Status);
        Assert.Contains("You are not a member of Portcullis HQ.", stranger.Body);
        Assert.Equal(HttpStatusCode.OK, admitted.Status);
        // Only the moderator's request reached the API, with her own token.
        Assert.Equal(["/api/orders/3"], upstream.Requests.Select(r => r.PathAndQuery).ToArray());
        Assert.Equal(3, stack.Discord!.Observed.ApiRequests.Count(r => r == MemberPath));
        // A refusal does not end the session.
        Assert.Equal(HttpStatusCode.OK, (await mason.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.DoesNotContain(await stack.AllIssuedTokensAsync(), token => stack.Gateway.Logs.All.Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AModeratorLosesAccessOnceTheRoleIsRemovedAndTheCacheTimeHasPassed()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await PolicyStacks.DiscordAsync(upstream, TimeSpan.FromSeconds(2), clock);
        using var nelly = new BrowserClient();
        await stack.LoginAsync(nelly, "discord", "nelly");
        Assert.Equal(HttpStatusCode.OK, (await nelly.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf)).Status);

        stack.Discord!.Users["nelly"].GuildRoles[PolicyStacks.Guild] = [PolicyStacks.OtherRole];
        // Within the cache time the answer Discord gave is reused: Discord is not asked again.
        var cached = await nelly.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, cached.Status);
        Assert.Equal(1, stack.Discord.Observed.ApiRequests.Count(r => r == MemberPath));

        clock.Advance(TimeSpan.FromSeconds(2.5)); // past the 2 s cache time
        var afterwards = await nelly.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Forbidden, afterwards.Status);
        Assert.Contains("You are not a moderator of Portcullis HQ.", afterwards.Body);
        Assert.Equal(2, stack.Discord.Observed.ApiRequests.Count(r => r == MemberPath));
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task ARefreshedTokenAsksDiscordAgainEvenWithinTheCacheTime()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await PolicyStacks.DiscordAsync(upstream, TimeSpan.FromMinutes(5), clock);
        stack.Discord!.AccessTokenLifetime = TimeSpan.FromSeconds(3);
        using var nelly = new BrowserClient();
        await stack.LoginAsync(nelly, "discord", "nelly");
        Assert.Equal(HttpStatusCode.OK, (await nelly.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf)).Status);
        stack.Discord.Users["nelly"].GuildRoles[PolicyStacks.Guild] = [PolicyStacks.OtherRole];

        // Past the refresh point of the short-lived token: the refreshed token asks Discord again.
        clock.Advance(TimeSpan.FromSeconds(2.5));
        var afterRefresh = await nelly.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Forbidden, afterRefresh.Status);
        Assert.True(stack.Discord.Observed.TokenRequestCount("refresh_token") >= 1);
        Assert.Equal(2, stack.Discord.Observed.ApiRequests.Count(r => r == MemberPath));
    }

    [Fact]
    public async Task A429FromDiscordNeitherAdmitsNorEndsTheSession()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await PolicyStacks.DiscordAsync(upstream, TimeSpan.FromMinutes(5));
        stack.Discord!.RetryAfterSeconds = 1.5;
        using var mason = new BrowserClient();
        using var nelly = new BrowserClient();
        await stack.LoginAsync(mason, "discord", "mason");
        await stack.LoginAsync(nelly, "discord", "nelly");
        var sessionsBefore = await stack.RowsAsync("SELECT key, grant_id FROM sessions ORDER BY key");
        var grantsBefore = await stack.RowsAsync("SELECT id, tokens, version FROM grants ORDER BY id");

        stack.Discord.RateLimitApiRequests(2);
        var masonLimited = await mason.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);
        var nellyLimited = await nelly.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        foreach (var limited in new[] { masonLimited, nellyLimited })
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, limited.Status);
            Assert.Contains("\"error\":\"provider_unavailable\"", limited.Body);
            Assert.Contains("Discord is busy", limited.Body);
            // retry_after 1.5 s, rounded up to whole seconds.
            Assert.Equal("2", limited.Headers["Retry-After"]);
        }

        Assert.Empty(upstream.Requests);
        Assert.Equivalent(sessionsBefore, await stack.RowsAsync("SELECT key, grant_id FROM sessions ORDER BY key"));
        Assert.Equivalent(grantsBefore, await stack.RowsAsync("SELECT id, tokens, version FROM grants ORDER BY id"));
        Assert.Equal(HttpStatusCode.OK, (await mason.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.OK, (await nelly.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);

        // The 429 was not remembered as an answer: next time Discord is asked and each gets the right decision.
        Assert.Equal(HttpStatusCode.Forbidden, (await mason.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.OK, (await nelly.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf)).Status);
        Assert.Single(upstream.Requests);
    }
}
