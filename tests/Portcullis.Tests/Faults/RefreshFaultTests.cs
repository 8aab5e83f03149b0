using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Audit;
using Portcullis.Storage;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Faults;

/// <summary>
/// Faults during a refresh as they happen in production (issue 14): the real oidc-provider with refresh-token rotation
/// (a reused refresh token revokes the grant) is frozen, or the wire to it holds the request and delivers it late, or
/// resets after the request was sent. The provider's own record says how many refresh tokens were presented.
/// </summary>
public sealed class RefreshFaultTests
{
    // The provider's tokens live 120 s, due after 60 s on the gateway's (fake) clock; requests wait 1.5 × 1 s for a
    // refresh before 503, the token request itself up to the default 30 s deadline, both on the same clock.
    private static readonly TimeSpan PastTheRefreshPoint = TimeSpan.FromSeconds(61);

    [Fact]
    public async Task AProviderFrozenDuringARefreshAnswersLateAndTheSessionGoesOnWithTheRotatedToken()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await StartAsync(upstream, clock);

        // Frozen: the refresh waits in the provider's socket; on resume it is handled and answered late.
        await AssertALateAnswerIsSavedAndUsedAsync(stack, upstream, clock, hang: () => stack.Idp.Pause(), answerLate: () =>
        {
            stack.Idp.Resume();
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task InSplitKeyModeALateAnswerIsSealedUnderTheSessionsKeyAfterTheRequestEndedAndUsed()
    {
        // ADR 0032: the refresh outlives the request that started it (ADR 0021); the session's key must go with it, or the
        // rotated tokens could not be sealed and the spent refresh token would be all the store has.
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await StartAsync(upstream, clock, mode: "split-key");

        await AssertALateAnswerIsSavedAndUsedAsync(stack, upstream, clock, hang: () => stack.Idp.Pause(), answerLate: () =>
        {
            stack.Idp.Resume();
            return Task.CompletedTask;
        });

        var grant = (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id, tokens, session_keyed FROM grants")).Single();
        Assert.Equal(1L, grant[2]);
        Assert.Null(stack.Gateway.Get<Portcullis.Vault.RecordProtector<Portcullis.Vault.TokenSet>>().Unprotect((byte[])grant[1]!, (string)grant[0]!));
    }

    [Fact]
    public async Task ARefreshHeldOnTheWireAndDeliveredLateIsSavedAndUsed()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var idpPort = FreePort.Next();
        await using var wire = FaultProxy.Start(idpPort);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await StartAsync(upstream, clock, idpPort, wire.Port);

        await AssertALateAnswerIsSavedAndUsedAsync(stack, upstream, clock, hang: () => wire.Fault = Fault.Hold, answerLate: async () =>
        {
            await wire.WaitUntilHeldAsync();
            wire.Fault = Fault.None;
            wire.ReleaseHeld(); // the provider gets the request only now, and rotates the refresh token
        });
    }

    /// <summary>
    /// Signs in, waits until a refresh is due, and calls the API while <paramref name="hang"/> keeps the provider from
    /// answering; after the caller got 503, <paramref name="answerLate"/> lets the answer come. The same session must
    /// then work with the rotated tokens, the provider having seen one refresh token presented once.
    /// </summary>
    private static async Task AssertALateAnswerIsSavedAndUsedAsync(TestStack stack, RecordingUpstream upstream, FakeTimeProvider clock, Action hang, Func<Task> answerLate)
    {
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        clock.Advance(PastTheRefreshPoint);

        hang();
        RecordedResponse during;
        try
        {
            // The caller's wait runs on the gateway's clock: moved on until the caller gives up (1.5 s), never as far as
            // the token request's own deadline (30 s), which must still be waiting for the late answer.
            during = await LeaseFaultTests.UntilAnsweredAsync(clock, browser.GetAsync($"{stack.Origin}/api/orders/during", BrowserClient.Csrf));
        }
        finally
        {
            await answerLate();
        }

        AssertRetryLater(during);
        await WaitForRefreshAtProviderAsync(stack.Idp);
        var after = await browser.GetAsync($"{stack.Origin}/api/orders/after", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, after.Status);
        await AssertOneRefreshAndItsTokensInUseAsync(stack, upstream);
    }

    [Fact]
    public async Task AResetAfterTheRefreshWasSentIsAnUnknownOutcomeThatKeepsTheSessionAndIsAudited()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var idpPort = FreePort.Next();
        await using var wire = FaultProxy.Start(idpPort);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await StartAsync(upstream, clock, idpPort, wire.Port);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var login = (await stack.Idp.TokensAsync()).Single();
        clock.Advance(PastTheRefreshPoint);

        wire.Fault = Fault.ResetAfterSend;
        var during = await browser.GetAsync($"{stack.Origin}/api/orders/during", BrowserClient.Csrf);
        wire.Fault = Fault.None;
        var afterwards = await browser.GetAsync($"{stack.Origin}/api/orders/afterwards", BrowserClient.Csrf);

        // The provider handled the refresh and rotated the token; its answer was lost on the wire.
        Assert.Equal(1, wire.ResetAfterSendCount);
        var refreshes = await RefreshEventsAsync(stack.Idp);
        Assert.Equal("success", Assert.Single(refreshes).GetProperty("outcome").GetString());
        AssertRetryLater(during);
        // Never a 401 or a new refresh while the access token is still valid: it is used as it is.
        Assert.Equal(HttpStatusCode.OK, afterwards.Status);
        Assert.Equal($"Bearer {login.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.Single(await RefreshEventsAsync(stack.Idp));
        Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions"));
        var audit = await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.RefreshFailed));
        Assert.Contains(audit, e => e.Detail?.StartsWith("outcome unknown", StringComparison.Ordinal) == true);
        Assert.Contains("may have been rotated into an answer nobody read", stack.Gateway.Logs.All);
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All));
    }

    private static Task<TestStack> StartAsync(RecordingUpstream upstream, FakeTimeProvider clock, int? idpPort = null, int? issuerPort = null, string mode = "server") =>
        TestStack.StartAsync(
            clock: clock,
            adjust: s =>
            {
                TestStack.OrdersRoute(upstream.Url)(s);
                s["Portcullis:Refresh:Timeout"] = "00:00:01";
                s["Portcullis:Session:Mode"] = mode;
            },
            idpPort: idpPort,
            issuerPort: issuerPort);

    private static void AssertRetryLater(RecordedResponse response)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.Status);
        Assert.Contains("\"error\":\"provider_unavailable\"", response.Body);
        Assert.True(int.Parse(response.Headers["Retry-After"]) > 0);
    }

    private static async Task<JsonElement[]> RefreshEventsAsync(TestIdp idp) =>
        (await idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "refresh_token").ToArray();

    private static Task WaitForRefreshAtProviderAsync(TestIdp idp) =>
        Eventually.Until(() => RefreshEventsAsync(idp), events => events.Length > 0, "the provider to handle the refresh");

    /// <summary>One refresh token presented, once, accepted; the rotated tokens are the ones in use and still active.</summary>
    private static async Task AssertOneRefreshAndItsTokensInUseAsync(TestStack stack, RecordingUpstream upstream)
    {
        var refresh = Assert.Single(await RefreshEventsAsync(stack.Idp));
        Assert.Equal("success", refresh.GetProperty("outcome").GetString());
        var refreshed = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.Equal($"Bearer {refreshed.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.True(await stack.Idp.IsActiveAsync(refreshed.RefreshToken!));
        Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions"));
    }
}
