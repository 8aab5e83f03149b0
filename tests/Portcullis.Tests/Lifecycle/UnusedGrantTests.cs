using System.Net;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Lifecycle;

/// <summary>
/// Issue 17 item 9 (third part), ADR 0027: a grant whose sessions ended without a logout (idle or absolute expiry,
/// back-channel logout) is deleted and its refresh token revoked at the provider through the outbox, by the periodic
/// sweep on the gateway's clock; a grant a live session uses is left alone.
/// </summary>
public sealed class UnusedGrantTests
{
    [Fact]
    public async Task AGrantWhoseSessionExpiredIsDeletedAndRevokedAndALiveSessionsGrantIsNot()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(clock: clock);
        using var expiring = new BrowserClient();
        using var live = new BrowserClient();
        await expiring.LoginAsync(stack.Origin);
        var expiringRefreshToken = (await stack.Idp.TokensAsync())[0].RefreshToken!;
        clock.Advance(TimeSpan.FromMinutes(20));
        await live.LoginAsync(stack.Origin);
        var liveRefreshToken = (await stack.Idp.TokensAsync())[1].RefreshToken!;
        Assert.Equal(2, (await GrantsAsync(stack)).Count);

        clock.Advance(TimeSpan.FromMinutes(11)); // the first session's 30 min idle timeout has passed; the second's has not
        await Eventually.Until(() => stack.Idp.EventsAsync("revocation"), events => events.Length > 0, "the provider to see a revocation");
        await Eventually.RevocationsSentAsync(stack.Gateway);

        Assert.Equal(expiringRefreshToken, Assert.Single(await stack.Idp.EventsAsync("revocation")).GetProperty("token").GetString());
        Assert.False(await stack.Idp.IsActiveAsync(expiringRefreshToken));
        Assert.True(await stack.Idp.IsActiveAsync(liveRefreshToken));
        Assert.Single(await GrantsAsync(stack));
        Assert.Equal(HttpStatusCode.OK, (await live.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Contains("[1031]", stack.Gateway.Logs.All);
        Assert.DoesNotContain(expiringRefreshToken, stack.Gateway.Logs.All);
    }

    [Fact]
    public async Task ABackchannelLogoutLeavesNoGrantAndTheRefreshTokenIsRevoked()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(clock: clock);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var refreshToken = (await stack.Idp.TokensAsync())[0].RefreshToken!;

        await stack.Idp.SendBackchannelLogoutAsync("alice");
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        // Within the grace a grant without a session may be a login about to create its session: left alone.
        clock.Advance(TimeSpan.FromMinutes(2));
        // A sweep pass run here, not waited for: within the grace it must end nothing.
        Assert.Equal(0, await SweepAsync(stack));
        Assert.Single(await GrantsAsync(stack));
        Assert.True(await stack.Idp.IsActiveAsync(refreshToken));

        clock.Advance(TimeSpan.FromMinutes(4));
        await Eventually.Until(() => stack.Idp.EventsAsync("revocation"), events => events.Length > 0, "the provider to see a revocation");

        Assert.Equal(refreshToken, Assert.Single(await stack.Idp.EventsAsync("revocation")).GetProperty("token").GetString());
        Assert.False(await stack.Idp.IsActiveAsync(refreshToken));
        Assert.Empty(await GrantsAsync(stack));
    }

    [Fact]
    public async Task WithOfflineAccessTheOfflineGrantOutlivesItsExpiredSessionAndAWorkerStillGetsATokenFromIt()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(clock: clock, adjust: s => s["Portcullis:Tokens:OfflineAccess"] = "true");
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var userId = (string)(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Single()[0]!;

        clock.Advance(TimeSpan.FromMinutes(31));
        await Eventually.Until(() => SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions"), rows => rows.Count == 0, "the expired session to be swept");
        Assert.Equal(0, await SweepAsync(stack)); // a pass run here: the offline grant is not the sweep's to end

        Assert.Empty(await stack.Idp.EventsAsync("revocation"));
        Assert.Single(await GrantsAsync(stack));
        var result = await stack.Gateway.Get<Portcullis.Tokens.IUserTokens>().GetForUserAsync(userId, "main", "nightly-report");
        Assert.True(result.Succeeded, $"{result.Error}: {result.Message}");
    }

    private static Task<List<object?[]>> GrantsAsync(TestStack stack) => SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM grants");

    /// <summary>One pass of the unused-grant sweep, as the background service runs it; how many grants it ended.</summary>
    private static Task<int> SweepAsync(TestStack stack) =>
        stack.Gateway.Get<Portcullis.Sessions.SessionTermination>().EndUnusedGrantsAsync(100, CancellationToken.None);
}
