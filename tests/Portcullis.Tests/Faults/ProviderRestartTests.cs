using System.Net;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Audit;
using Portcullis.Storage;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Faults;

/// <summary>
/// The provider process dies (SIGKILL) and is started again (issue 14 item 5). The test oidc-provider keeps its grants,
/// tokens and signing keys in files here (tests/idp/server.mjs <c>stateDirectory</c>), as a real provider keeps them in
/// its database, so a restart is survivable; whether the gateway survives it is what these tests ask. While the provider
/// is down a request that needs a refresh gets 503 <c>provider_unavailable</c> with <c>Retry-After</c>, never 401, and
/// the session stays; after the restart the same cookie works and the refresh token is accepted, presented once.
/// </summary>
public sealed class ProviderRestartTests
{
    // The provider's tokens live 120 s on the gateway's (fake) clock, due after 60 s; requests wait 1.5 × 1 s for a
    // refresh, the token request up to the default 30 s deadline.
    private static readonly TimeSpan PastTheRefreshPoint = TimeSpan.FromSeconds(61);

    [Fact]
    public async Task AProviderKilledAndRestartedCosts503WhileItIsDownAndNoSession()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await StartAsync(upstream, clock);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];

        await stack.Idp.KillAsync();
        // Nothing due yet: the provider's absence costs nothing.
        var notDue = await browser.GetAsync($"{stack.Origin}/api/orders/not-due", BrowserClient.Csrf);
        clock.Advance(PastTheRefreshPoint);
        var due = await LeaseFaultTests.UntilAnsweredAsync(clock, browser.GetAsync($"{stack.Origin}/api/orders/due", BrowserClient.Csrf));
        var user = await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        // Past the access token's expiry too: still a provider outage, not a lost session.
        clock.Advance(TimeSpan.FromSeconds(60));
        var expired = await LeaseFaultTests.UntilAnsweredAsync(clock, browser.GetAsync($"{stack.Origin}/api/orders/expired", BrowserClient.Csrf));

        await stack.Idp.RestartAsync();
        var after = await browser.GetAsync($"{stack.Origin}/api/orders/after", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, notDue.Status);
        LeaseFaultTests.AssertRetryLater(due, "provider_unavailable");
        Assert.Equal(HttpStatusCode.OK, user.Status);
        LeaseFaultTests.AssertRetryLater(expired, "provider_unavailable");
        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.Equal(cookie, browser.CookiesFor("localhost")["__Host-portcullis"]);
        // The refresh token issued before the crash, presented once after it, accepted (a provider that forgot its
        // grants would answer invalid_grant and the user would have to sign in again).
        await LeaseFaultTests.AssertOneRefreshAndItsTokensInUseAsync(stack.Idp, upstream);
        Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions"));
        var audit = await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.RefreshFailed));
        Assert.All(audit, e => Assert.DoesNotContain("outcome unknown", e.Detail ?? "")); // refused connections: never sent
        Assert.NotEmpty(audit);
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All));
    }

    [Fact]
    public async Task AProviderKilledWithTheRefreshInItsSocketLosesNoSessionAndTheRefreshTokenIsPresentedOnceAfterTheRestart()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await StartAsync(upstream, clock);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        var login = (await stack.Idp.TokensAsync()).Single();
        clock.Advance(PastTheRefreshPoint);

        // The provider hangs, the token request is sent into its socket, and the process dies before reading it: the
        // gateway's connection is reset after the request left, so it cannot know the request was never handled.
        stack.Idp.Pause();
        RecordedResponse during;
        try
        {
            var pending = browser.GetAsync($"{stack.Origin}/api/orders/during", BrowserClient.Csrf);
            await stack.Idp.WaitUntilUnreadRequestAsync();
            during = await LeaseFaultTests.UntilAnsweredAsync(clock, pending);
        }
        finally
        {
            await stack.Idp.KillAsync();
        }

        // Outcome unknown: the current access token is used until it expires, the refresh token not presented meanwhile.
        // (A request that comes while the gateway is still recording the reset shares the failed refresh: 503; the
        // gateway's clock stands still, so nothing here can make the access token expire.)
        var waitingOut = await Eventually.Until(
            () => browser.GetAsync($"{stack.Origin}/api/orders/waiting-out", BrowserClient.Csrf), r => r.Status != HttpStatusCode.ServiceUnavailable, "the gateway to record the reset");
        Assert.Contains("answer nobody read", stack.Gateway.Logs.All);
        var waitingOutToken = upstream.Requests.Last().Headers["Authorization"];
        clock.Advance(TimeSpan.FromSeconds(60)); // past the access token's expiry, the provider still down
        var expired = await LeaseFaultTests.UntilAnsweredAsync(clock, browser.GetAsync($"{stack.Origin}/api/orders/expired", BrowserClient.Csrf));

        await stack.Idp.RestartAsync();
        var after = await browser.GetAsync($"{stack.Origin}/api/orders/after", BrowserClient.Csrf);

        LeaseFaultTests.AssertRetryLater(during, "provider_unavailable");
        Assert.Equal(HttpStatusCode.OK, waitingOut.Status);
        Assert.Equal($"Bearer {login.AccessToken}", waitingOutToken);
        LeaseFaultTests.AssertRetryLater(expired, "provider_unavailable");
        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.Equal(cookie, browser.CookiesFor("localhost")["__Host-portcullis"]);
        // The request the killed process never read is not in its record; the one after the restart is, accepted.
        await LeaseFaultTests.AssertOneRefreshAndItsTokensInUseAsync(stack.Idp, upstream);
        var audit = await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.RefreshFailed));
        Assert.Contains(audit, e => e.Detail?.StartsWith("outcome unknown", StringComparison.Ordinal) == true);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All));
    }

    private static Task<TestStack> StartAsync(RecordingUpstream upstream, FakeTimeProvider clock) =>
        TestStack.StartAsync(
            clock: clock,
            adjust: s =>
            {
                TestStack.OrdersRoute(upstream.Url)(s);
                s["Portcullis:Refresh:Timeout"] = "00:00:01";
            },
            persistentIdp: true);
}
