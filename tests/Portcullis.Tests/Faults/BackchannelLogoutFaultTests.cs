using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Agent;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Lifecycle;

namespace Portcullis.Tests.Faults;

/// <summary>
/// A back-channel logout that meets a fault must not be lost: the provider is told to retry (503), and its retry ends
/// the sessions. A logout that a fault left half done, then refused as a replay, would leave them alive for good.
/// </summary>
public sealed class BackchannelLogoutFaultTests
{
    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task AStoreResetDuringABackchannelLogoutGets503AndTheProvidersRetryEndsTheSessions(string storeKind)
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var (store, storeWire) = await StoreWireFaultTests.StoreBehindFaultProxyAsync(storeKind);
        await using var _ = storeWire;
        await using var stack = await StoreWireFaultTests.StartAsync(upstream, new FakeTimeProvider(DateTimeOffset.UtcNow), store);
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        // By sub alone: every session of alice at this provider ends.
        var claims = BackchannelLogoutTests.ValidClaims(stack, sid: null);
        var token = await stack.Idp.SignAsync(claims, new { typ = "logout+jwt" });

        // The store handles the first statement of the logout, and the gateway never hears its answer.
        var during = await StoreWireFaultTests.UnderFaultAsync(storeWire, Fault.ResetAfterSend, () => BackchannelLogoutTests.PostLogoutTokenAsync(stack.Origin, token));

        // Once the store answers again (a Redis client reconnects first), the session the failed logout did not end works.
        var stillSignedIn = await Eventually.Until(
            () => alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf), r => r.Status != HttpStatusCode.ServiceUnavailable, "the store wire to heal");
        // The provider's retry of the same token, once the store answers again.
        var retry = await Eventually.Until(
            () => BackchannelLogoutTests.PostLogoutTokenAsync(stack.Origin, token), r => r.StatusCode != HttpStatusCode.ServiceUnavailable, "the store wire to heal");
        var after = await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        var replay = await BackchannelLogoutTests.PostLogoutTokenAsync(stack.Origin, token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.StatusCode);
        Assert.Equal("store_unavailable", JsonDocument.Parse(await during.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, stillSignedIn.Status);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.Status);
        // Carried out, the token is used: a replay is refused.
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.DoesNotContain(token, stack.Gateway.Logs.All);
    }

    /// <summary>
    /// The provider rolls its signing key over and signs a logout token with the new one; its keys cannot be read when
    /// the token arrives. The gateway cannot tell the new key from a forger's: refused with 400, the provider would not
    /// retry and the user's sessions would live on.
    /// </summary>
    [Fact]
    public async Task ALogoutTokenUnderANewKeyWhileTheProvidersKeysCannotBeReadGets503AndItsRetryEndsTheSessions()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(clock: clock, persistentIdp: true);
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        await stack.Idp.RotateSigningKeyAsync();
        var token = await stack.Idp.SignAsync(BackchannelLogoutTests.ValidClaims(stack, sid: null), new { typ = "logout+jwt" });
        await stack.Idp.KillAsync();

        var during = await BackchannelLogoutTests.PostLogoutTokenAsync(stack.Origin, token);
        var stillSignedIn = await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        await stack.Idp.RestartAsync();
        clock.Advance(ProviderRuntime.MetadataRefetchInterval); // the gateway asks the provider for its keys at most this often
        var retry = await BackchannelLogoutTests.PostLogoutTokenAsync(stack.Origin, token);
        var after = await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);

        await AssertRetriableThenCarriedOutAsync(during, stillSignedIn, retry, after);
        Assert.Contains("ProviderKeysUnreadableException", stack.Gateway.Logs.All);
        Assert.DoesNotContain(token, stack.Gateway.Logs.All);
    }

    [Fact]
    public async Task ALogoutTokenWhileTheProvidersMetadataCannotBeReadGets503AndItsRetryEndsTheSessions()
    {
        await using var stack = await TestStack.StartAsync(persistentIdp: true);
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        var token = await stack.Idp.SignAsync(BackchannelLogoutTests.ValidClaims(stack, sid: null), new { typ = "logout+jwt" });
        // The provider is down when the gateway starts: it has never read the provider's keys.
        await stack.Idp.KillAsync();
        await stack.RestartGatewayAsync();

        var during = await BackchannelLogoutTests.PostLogoutTokenAsync(stack.Origin, token);
        var stillSignedIn = await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        await stack.Idp.RestartAsync();
        var retry = await Eventually.Until(
            () => BackchannelLogoutTests.PostLogoutTokenAsync(stack.Origin, token), r => r.StatusCode != HttpStatusCode.ServiceUnavailable, "the provider's metadata to be read");
        var after = await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);

        await AssertRetriableThenCarriedOutAsync(during, stillSignedIn, retry, after);
        Assert.Contains("could not be checked", stack.Gateway.Logs.All);
        Assert.DoesNotContain(token, stack.Gateway.Logs.All);
    }

    /// <summary>The provider's first call told to retry (503 with Retry-After) and nothing ended; its retry ended the session.</summary>
    private static async Task AssertRetriableThenCarriedOutAsync(HttpResponseMessage during, RecordedResponse stillSignedIn, HttpResponseMessage retry, RecordedResponse after)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.StatusCode);
        Assert.Equal("temporarily_unavailable", JsonDocument.Parse(await during.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        Assert.True(during.Headers.RetryAfter is not null, "Retry-After");
        Assert.Equal(HttpStatusCode.OK, stillSignedIn.Status);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.Status);
    }
}
