using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Audit;
using Portcullis.Storage;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Lifecycle;

public sealed class ReturningUserAndAuditTests
{
    [Fact]
    public async Task ASecondLoginOfTheSameUserKeepsTheUserIdAndRevokesTheEarlierRefreshToken()
    {
        await using var stack = await TestStack.StartAsync();
        using var first = new BrowserClient();
        await first.LoginAsync(stack.Origin);
        var userBefore = (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Single()[0];
        var earlier = (await stack.Idp.TokensAsync()).Single().RefreshToken!;

        using var afterClearingCookies = new BrowserClient();
        await afterClearingCookies.LoginAsync(stack.Origin);
        await Eventually.RevocationsSentAsync(stack.Gateway);

        Assert.Equal(userBefore, (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Single()[0]);
        Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM grants"));
        Assert.Equal(earlier, Assert.Single(await stack.Idp.EventsAsync("revocation")).GetProperty("token").GetString());
        Assert.False(await stack.Idp.IsActiveAsync(earlier));
        var current = (await stack.Idp.TokensAsync()).Last().RefreshToken!;
        Assert.True(await stack.Idp.IsActiveAsync(current));
    }

    [Fact]
    public async Task TheAuditLogRecordsTheLifecycleAndHoldsNoSecret()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 2, clock: clock, adjust: TestStack.OrdersRoute(upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        clock.Advance(TimeSpan.FromSeconds(1.2)); // past the refresh point
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf)).Status);
        await stack.Idp.RevokeGrantAsync("alice");
        clock.Advance(TimeSpan.FromSeconds(1.2)); // past the refreshed token's refresh point
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf)).Status);
        using var again = new BrowserClient();
        await again.LoginAsync(stack.Origin);
        Assert.Equal(HttpStatusCode.OK, (await again.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf)).Status);
        await Eventually.RevocationsSentAsync(stack.Gateway);

        var entries = await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Limit: 1000));

        var events = entries.Select(e => (e.Event, e.Outcome)).ToHashSet();
        Assert.Contains((AuditEvents.Login, AuditOutcomes.Success), events);
        Assert.Contains((AuditEvents.Refresh, AuditOutcomes.Success), events);
        Assert.Contains((AuditEvents.ReauthenticationRequired, AuditOutcomes.Success), events);
        Assert.Contains((AuditEvents.Logout, AuditOutcomes.Success), events);
        Assert.Contains((AuditEvents.Revocation, AuditOutcomes.Queued), events);
        Assert.Contains((AuditEvents.Revocation, AuditOutcomes.Success), events);
        var alice = (string)(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Single()[0]!;
        Assert.All(entries.Where(e => e.Event != AuditEvents.Revocation), e => Assert.Equal(alice, e.UserId));

        var dump = new StringBuilder();
        foreach (var row in await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM audit"))
        {
            dump.AppendJoin('|', row).AppendLine();
        }

        var text = dump.ToString();
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, text));
        Assert.DoesNotContain(cookie, text);
        Assert.DoesNotContain(again.CookiesFor("localhost").GetValueOrDefault("__Host-portcullis") ?? cookie, text);
        Assert.DoesNotContain(TestIdp.ClientSecret, text);
    }
}
