using System.Diagnostics;
using System.Net;
using Portcullis.Audit;
using Portcullis.Storage;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Lifecycle;

/// <summary>The provider goes away: refresh answers 503 within its bound and keeps the session; logout never waits.</summary>
public sealed class ProviderOutageTests
{
    [Fact]
    public async Task AProviderThatNeverAnswersARefreshGives503WithinTheBoundAndTheSessionSurvives()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        // The provider swallows the request and never answers (a black hole, not a late answer: FaultTests has those).
        // The token request gives up at its deadline, here as short as the requests' wait, with its outcome unknown.
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 2, adjust: s =>
        {
            TestStack.OrdersRoute(upstream.Url)(s);
            s["Portcullis:Refresh:Timeout"] = "00:00:02";
            s["Portcullis:Refresh:TokenRequestDeadline"] = "00:00:02";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        await stack.Idp.SetOutageAsync("hang");
        await Task.Delay(TimeSpan.FromSeconds(1.2)); // past the refresh point; real, as the test measures a real wait bound for a provider that hangs (with a fake clock the refresh timeout would never fire and the HTTP client's 10 s would answer instead)
        var watch = Stopwatch.StartNew();
        var during = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);
        watch.Stop();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.Status);
        Assert.Contains("\"error\":\"provider_unavailable\"", during.Body);
        Assert.True(int.Parse(during.Headers["Retry-After"]) > 0);
        // The wait is bounded by 1.5 × Refresh:Timeout (3 s); the rest is slack for a loaded machine. Never a hang.
        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(8));
        Assert.Empty(upstream.Requests);
        Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions"));
        Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM grants"));

        await stack.Idp.SetOutageAsync("up");
        var after = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, after.Status);
        var refreshed = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.Equal($"Bearer {refreshed.AccessToken}", Assert.Single(upstream.Requests).Headers["Authorization"]);
        var audit = await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery());
        Assert.Contains(audit, e => e.Event == AuditEvents.RefreshFailed);
        Assert.Contains(audit, e => e.Event == AuditEvents.Refresh && e.Outcome == AuditOutcomes.Success);
    }

    [Fact]
    public async Task LogoutWhileTheProviderIsDownAnswersAtOnceAndTheRevocationArrivesWhenItIsBack()
    {
        await using var stack = await TestStack.StartAsync(adjust: s => s["Portcullis:Revocation:RetryDelay"] = "00:00:00.200");
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var refreshToken = (await stack.Idp.TokensAsync()).Single().RefreshToken!;

        await stack.Idp.SetOutageAsync("down");
        var watch = Stopwatch.StartNew();
        var logout = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);
        watch.Stop();

        Assert.Equal(HttpStatusCode.OK, logout.Status);
        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions"));
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM grants"));

        // While the provider is down the revocation waits in the store, retried with backoff.
        var audit = stack.Gateway.Get<AuditLog>();
        await Eventually.Until(
            () => audit.QueryAsync(new AuditQuery(Event: AuditEvents.Revocation)),
            entries => entries.Count(e => e.Outcome == AuditOutcomes.Failed) >= 2,
            "two failed revocation attempts");
        Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM pending_revocations"));
        Assert.Empty(await stack.Idp.EventsAsync("revocation"));

        await stack.Idp.SetOutageAsync("up");
        await Eventually.RevocationsSentAsync(stack.Gateway);

        Assert.Equal(refreshToken, Assert.Single(await stack.Idp.EventsAsync("revocation")).GetProperty("token").GetString());
        Assert.False(await stack.Idp.IsActiveAsync(refreshToken));
        var outcomes = (await audit.QueryAsync(new AuditQuery(Event: AuditEvents.Revocation))).Select(e => e.Outcome).ToArray();
        Assert.Equal(AuditOutcomes.Success, outcomes[0]); // newest first
        Assert.Equal(AuditOutcomes.Queued, outcomes[^1]);
    }
}
