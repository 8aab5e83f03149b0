using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Lifecycle;

namespace Portcullis.Tests.Faults;

/// <summary>
/// A split-key grant can be revoked only in a request of its own session, which alone carries its key (ADR 0032). A
/// logout that a store fault cuts short must therefore leave that session in place for the user to log out again, not
/// a grant that the unused-grant sweep can only delete, its refresh token alive at the provider.
/// </summary>
public sealed class SplitKeyLogoutFaultTests
{
    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task AStoreResetDuringASplitKeyLogoutLeavesTheSessionAndTheRetryRevokesItsGrant(string storeKind)
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var (store, storeWire) = await StoreWireFaultTests.StoreBehindFaultProxyAsync(storeKind);
        await using var _ = storeWire;
        store["Portcullis:Session:Mode"] = "split-key";
        await using var stack = await StoreWireFaultTests.StartAsync(upstream, new FakeTimeProvider(DateTimeOffset.UtcNow), store);
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        var refreshToken = (await stack.Idp.TokensAsync()).Single().RefreshToken!;
        // The session is read once, so the logout's first statement is its own work, not the session's lookup.
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);

        // The store handles the logout's first statement, and the gateway never hears its answer.
        var during = await StoreWireFaultTests.UnderFaultAsync(
            storeWire, Fault.ResetAfterSend, () => alice.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf));

        var retry = await Eventually.Until(
            () => alice.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf),
            r => r.Status != HttpStatusCode.ServiceUnavailable,
            "the store wire to heal");
        var revoked = await Eventually.Until(() => stack.Idp.IsActiveAsync(refreshToken), active => !active, "the grant's refresh token to be revoked");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.Status);
        Assert.Equal("store_unavailable", JsonDocument.Parse(during.Body).RootElement.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, retry.Status);
        Assert.False(revoked);
        Assert.Equal(HttpStatusCode.Unauthorized, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All));
    }
}
