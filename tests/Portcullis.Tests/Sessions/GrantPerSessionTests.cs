using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Providers;

namespace Portcullis.Tests.Sessions;

/// <summary>
/// Issue 17 item 4, ADR 0027: each session owns its grant, so what one device does at the provider (step-up, linking a
/// second identity, logging out) never changes what another device's session sends upstream. Against the real
/// oidc-provider; devices are separate browsers, so separate provider sessions.
/// </summary>
public sealed class GrantPerSessionTests
{
    [Theory]
    [InlineData("step-up")]
    [InlineData("second identity")]
    public async Task WhatOneSessionDoesAtTheProviderLeavesAnotherSessionsUpstreamTokenAndItsRefreshAlone(string change)
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 120, clock: clock, adjust: TestStack.OrdersRoute(upstream.Url));
        using var deviceA = new BrowserClient();
        using var deviceB = new BrowserClient(); // say, a stolen cookie: it must gain nothing from A's stronger login
        await deviceB.LoginAsync(stack.Origin);
        await deviceA.LoginAsync(stack.Origin);
        var tokenOfB = await PresentedTokenAsync(deviceB, stack, upstream, "b-before");
        Assert.Equal((await stack.Idp.TokensAsync())[0].AccessToken, tokenOfB);

        // A new authentication at the provider (its own session cookie dropped): the password again, as a step-up
        // demands, or another account of the same provider for the link.
        deviceA.CookiesFor("127.0.0.1").Clear();
        if (change == "step-up")
        {
            var callback = await deviceA.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login?acr=urn:portcullis:loa:2", "alice");
            await deviceA.GetAsync(callback);
            Assert.Equal("urn:portcullis:loa:2", JsonDocument.Parse((await deviceA.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Body)
                .RootElement.GetProperty("session").GetProperty("acr").GetString());
        }
        else
        {
            var start = await deviceA.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/link?provider=main", null, ProviderStack.AppRequestHeaders(stack.Origin));
            Assert.Equal(HttpStatusCode.OK, start.Status);
            var url = JsonDocument.Parse(start.Body).RootElement.GetProperty("url").GetString()!;
            await deviceA.GetAsync(await deviceA.AuthorizeAtProviderAsync(url, "bob"));
        }

        var issued = await stack.Idp.TokensAsync();
        Assert.Equal(3, issued.Length);
        var tokenOfA = await PresentedTokenAsync(deviceA, stack, upstream, "a-after");
        Assert.Equal(issued[2].AccessToken, tokenOfA); // A sends its new token...
        Assert.Equal(tokenOfB, await PresentedTokenAsync(deviceB, stack, upstream, "b-after")); // ...B still its own

        // B's own refresh token still works: past the refresh point (one minute before the 120 s expiry) B refreshes,
        // with its own grant, and sends the refreshed token; A's login did not end or replace it.
        clock.Advance(TimeSpan.FromSeconds(61));
        var refreshedOfB = await PresentedTokenAsync(deviceB, stack, upstream, "b-refreshed");
        var refresh = Assert.Single(await stack.Idp.TokensAsync(), t => t.GrantType == "refresh_token");
        Assert.Equal(refresh.AccessToken, refreshedOfB);
        Assert.NotEqual(tokenOfA, refreshedOfB);
        Assert.True(await stack.Idp.IsActiveAsync(refreshedOfB));
        Assert.Equal("success", Assert.Single(await stack.Idp.EventsAsync("token"), e => e.GetProperty("grant_type").GetString() == "refresh_token")
            .GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task ALogoutOnOneDeviceDuringALoginOnAnotherLeavesTheNewLoginWorking()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var gate = new SessionCreationGate();
        await using var stack = await TestStack.StartAsync(
            accessTokenTtl: 120, clock: clock, adjust: TestStack.OrdersRoute(upstream.Url), configure: gate.Install());
        using var deviceA = new BrowserClient();
        using var deviceB = new BrowserClient();
        await deviceA.LoginAsync(stack.Origin);
        var refreshTokenOfA = (await stack.Idp.TokensAsync())[0].RefreshToken!;

        // B's login has exchanged its code and saved its tokens, and is held just before its session exists: the window
        // in which a shared grant with no session counted as unused and was deleted under B (ADR 0027, fault 2).
        var callbackOfB = await deviceB.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login", "alice");
        gate.Armed = true;
        var loginOfB = deviceB.GetAsync(callbackOfB);
        await gate.Reached.WaitAsync(TimeSpan.FromSeconds(60));
        var logoutOfA = await deviceA.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);
        await Eventually.RevocationsSentAsync(stack.Gateway); // A's revocation has reached the provider
        gate.Release();
        await loginOfB;

        Assert.Equal(HttpStatusCode.OK, logoutOfA.Status);
        Assert.Equal(refreshTokenOfA, Assert.Single(await stack.Idp.EventsAsync("revocation")).GetProperty("token").GetString());
        Assert.False(await stack.Idp.IsActiveAsync(refreshTokenOfA));
        var issuedToB = (await stack.Idp.TokensAsync())[1];
        Assert.Equal(issuedToB.AccessToken, await PresentedTokenAsync(deviceB, stack, upstream, "b-after-logout"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await deviceA.GetAsync($"{stack.Origin}/api/orders/a", BrowserClient.Csrf)).Status);

        // B's next refresh is accepted by the provider after A's revocation.
        clock.Advance(TimeSpan.FromSeconds(61));
        var refreshed = await PresentedTokenAsync(deviceB, stack, upstream, "b-refreshed");
        Assert.Equal(Assert.Single(await stack.Idp.TokensAsync(), t => t.GrantType == "refresh_token").AccessToken, refreshed);
        Assert.True(await stack.Idp.IsActiveAsync(refreshed));
    }

    [Fact]
    public async Task LinkingASecondIdentityLeavesTheAskingSessionsGrantIntact()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var before = Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id, tokens, version, updated_at FROM grants"));
        var refreshTokenOfAlice = (await stack.Idp.TokensAsync())[0].RefreshToken!;

        var start = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/link?provider=main", null, ProviderStack.AppRequestHeaders(stack.Origin));
        Assert.Equal(HttpStatusCode.OK, start.Status);
        browser.CookiesFor("127.0.0.1").Clear(); // bob signs in at the provider in a session of his own
        await browser.GetAsync(await browser.AuthorizeAtProviderAsync(JsonDocument.Parse(start.Body).RootElement.GetProperty("url").GetString()!, "bob"));

        // The linked login wrote a grant of its own; the asking session's row is byte for byte what it was, and its
        // refresh token still works at the provider (before ADR 0027 the link overwrote the user's one grant with bob's).
        var grants = await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id, tokens, version, updated_at FROM grants");
        Assert.Equal(2, grants.Count);
        Assert.Equal(before, grants.Single(g => Equals(g[0], before[0])));
        var session = Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT grant_id FROM sessions"));
        Assert.NotEqual(before[0], session[0]);
        Assert.True(await stack.Idp.IsActiveAsync(refreshTokenOfAlice));
        Assert.Empty(await stack.Idp.EventsAsync("revocation"));
    }

    /// <summary>The bearer token the upstream API received for <paramref name="device"/>'s call (which must succeed).</summary>
    private static async Task<string> PresentedTokenAsync(BrowserClient device, TestStack stack, RecordingUpstream upstream, string path)
    {
        var response = await device.GetAsync($"{stack.Origin}/api/orders/{path}", BrowserClient.Csrf);
        Assert.True(response.Status == HttpStatusCode.OK, $"{path}: {(int)response.Status} {response.Body}");
        var request = upstream.Requests.Last(r => r.PathAndQuery.EndsWith(path, StringComparison.Ordinal));
        return request.Headers["Authorization"]["Bearer ".Length..];
    }
}
