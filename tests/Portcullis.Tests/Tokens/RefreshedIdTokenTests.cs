using System.Net;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Audit;
using Portcullis.Storage;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Tokens;

/// <summary>
/// Issue 17 item 9 (OpenID Connect Core §12.2): an ID token that comes with a refresh is validated before anything of
/// that answer is used. The real oidc-provider answers the refresh with its id_token replaced by a forgery.
/// </summary>
public sealed class RefreshedIdTokenTests
{
    [Theory]
    [InlineData("other-sub")]
    [InlineData("unpublished-key-other-sub")]
    [InlineData("bad-signature")]
    [InlineData("wrong-aud")]
    [InlineData("wrong-iss")]
    [InlineData("expired")]
    public async Task ARefreshAnsweredWithAForgedIdTokenIsNotUsedAndEndsTheGrant(string forgery)
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 60, clock: clock, adjust: TestStack.OrdersRoute(upstream.Url));
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf)).Status);
        await stack.Idp.ForgeNextIdTokenAsync(forgery, grantType: "refresh_token");

        clock.Advance(TimeSpan.FromSeconds(55)); // the access token is due
        var response = await alice.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Contains(await stack.Idp.EventsAsync("forged_id_token"), e => e.GetProperty("mode").GetString() == forgery);
        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Contains("\"error\":\"reauthentication_required\"", response.Body);
        var refreshed = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.DoesNotContain(upstream.Requests, r => r.Headers["Authorization"] == $"Bearer {refreshed.AccessToken}");
        Assert.Single(upstream.Requests);
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM grants"));
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions"));
        var ended = Assert.Single(await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.ReauthenticationRequired)));
        Assert.StartsWith("refreshed id_token refused", ended.Detail, StringComparison.Ordinal);

        // The refresh token the provider issued with the forgery is revoked, not left alive at the provider.
        await Eventually.RevocationsSentAsync(stack.Gateway);
        Assert.False(await stack.Idp.IsActiveAsync(refreshed.RefreshToken!));
    }

    [Fact]
    public async Task AGenuineRefreshedIdTokenIsStoredAndTheRefreshedTokenUsed()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 60, clock: clock, adjust: TestStack.OrdersRoute(upstream.Url));
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin);

        clock.Advance(TimeSpan.FromSeconds(55));
        var response = await alice.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        var refreshed = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.NotNull(refreshed.IdToken); // the provider does send one: the forgeries above replace a real token
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal($"Bearer {refreshed.AccessToken}", Assert.Single(upstream.Requests).Headers["Authorization"]);
    }
}
