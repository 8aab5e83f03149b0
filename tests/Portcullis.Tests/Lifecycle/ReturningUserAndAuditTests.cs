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
    public async Task ASecondLoginOfTheSameUserKeepsTheUserIdAndTheEarlierRefreshTokenIsRevokedWhenItsSessionEnds()
    {
        await using var stack = await TestStack.StartAsync();
        using var first = new BrowserClient();
        await first.LoginAsync(stack.Origin);
        var userBefore = (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Single()[0];
        var earlier = (await stack.Idp.TokensAsync()).Single().RefreshToken!;

        using var afterClearingCookies = new BrowserClient();
        await afterClearingCookies.LoginAsync(stack.Origin);

        // Each session owns its grant (ADR 0027): the second login takes nothing from the first session.
        Assert.Equal(userBefore, (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Single()[0]);
        Assert.Equal(2, (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM grants")).Count);
        Assert.Empty(await stack.Idp.EventsAsync("revocation"));
        Assert.True(await stack.Idp.IsActiveAsync(earlier));

        // Its logout ends the earlier grant; the two browsers are two provider sessions, so revoking it is safe (ADR 0020).
        Assert.Equal(HttpStatusCode.OK, (await first.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf)).Status);
        await Eventually.RevocationsSentAsync(stack.Gateway);
        Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM grants"));
        Assert.Equal(earlier, Assert.Single(await stack.Idp.EventsAsync("revocation")).GetProperty("token").GetString());
        Assert.False(await stack.Idp.IsActiveAsync(earlier));
        var current = (await stack.Idp.TokensAsync()).Last().RefreshToken!;
        Assert.True(await stack.Idp.IsActiveAsync(current));
    }

    /// <summary>
    /// Issue 14, item 7: a user whose gateway cookie is gone (idle timeout, cleared) signs in again while their provider
    /// session lives. oidc-provider reuses the grant within a provider session, so revoking the "superseded" refresh
    /// token would revoke the new one too and sign out every session of the user at the next refresh.
    /// </summary>
    [Fact]
    public async Task ASecondSignInInTheSameProviderSessionRevokesNothingAndEverySessionRefreshes()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(
            adjust: TestStack.OrdersRoute(upstream.Url),
            clock: clock);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var firstCookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        browser.CookiesFor("localhost").Clear(); // the gateway's cookie only; the provider's session cookie stays
        await browser.LoginAsync(stack.Origin);
        var secondCookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        Assert.NotEqual(firstCookie, secondCookie);
        var logins = (await stack.Idp.TokensAsync()).Where(t => t.GrantType == "authorization_code").ToArray();
        Assert.Equal(2, logins.Length);
        await Eventually.RevocationsSentAsync(stack.Gateway); // whatever the second sign-in queued has reached the provider

        // Past the refresh due time on the gateway's clock (default skew: one minute, at most half of 120 s).
        clock.Advance(TimeSpan.FromSeconds(61));
        using var http = new HttpClient();
        var second = await ApiCalls.OrdersAsync(http, stack.Origin, secondCookie, "second");
        var first = await ApiCalls.OrdersAsync(http, stack.Origin, firstCookie, "first");

        Assert.Equal(HttpStatusCode.OK, second);
        Assert.Equal(HttpStatusCode.OK, first);
        Assert.Empty(await stack.Idp.EventsAsync("revocation"));
        var refreshes = (await stack.Idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "refresh_token").ToArray();
        // Each session refreshes its own grant (ADR 0027); at the provider both belong to one grant, and both refreshes work.
        Assert.Equal(2, refreshes.Length);
        Assert.All(refreshes, refresh => Assert.Equal("success", refresh.GetProperty("outcome").GetString()));
        foreach (var refreshed in (await stack.Idp.TokensAsync()).Where(t => t.GrantType == "refresh_token"))
        {
            Assert.True(await stack.Idp.IsActiveAsync(refreshed.RefreshToken!));
        }
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
