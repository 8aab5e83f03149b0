using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Portcullis.Sessions;
using Portcullis.Storage;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Sessions;

/// <summary>
/// ADR 0046: the memo answers exactly what hashing would, remembers only cookies that opened a session, forgets them at
/// logout, and stays bounded.
/// </summary>
public sealed class SessionKeyMemoTests
{
    [Fact]
    public void AKeyIsAlwaysTheCookiesHashRememberedOrNot()
    {
        var memo = new SessionKeyMemo(capacity: 4);
        var cookie = Identifiers.NewSecret();

        Assert.Equal(Identifiers.Hash(cookie), memo.KeyOf(cookie, out var remembered));
        Assert.False(remembered);
        Assert.Equal(0, memo.Count); // asking remembers nothing

        memo.Remember(cookie);
        Assert.Equal(1, memo.Count);
        Assert.Equal(Identifiers.Hash(cookie), memo.KeyOf(cookie, out remembered));
        Assert.True(remembered);
        Assert.Equal(Identifiers.Hash(cookie + "x"), memo.KeyOf(cookie + "x", out remembered));
        Assert.False(remembered);

        memo.Forget(cookie);
        Assert.Equal(0, memo.Count);
        Assert.Equal(Identifiers.Hash(cookie), memo.KeyOf(cookie, out remembered));
        Assert.False(remembered);
    }

    [Fact]
    public void WhenFullItStartsOverAndNeverHoldsMoreThanItsCapacity()
    {
        var memo = new SessionKeyMemo(capacity: 3);
        var cookies = Enumerable.Range(0, 10).Select(_ => Identifiers.NewSecret()).ToArray();

        foreach (var cookie in cookies)
        {
            memo.Remember(cookie);
            memo.Remember(cookie); // remembering twice counts once
            Assert.InRange(memo.Count, 1, 3);
        }

        Assert.All(cookies, cookie => Assert.Equal(Identifiers.Hash(cookie), memo.KeyOf(cookie, out _)));
    }

    [Fact]
    public async Task TheGatewayRemembersOnlyCookiesThatOpenedASessionAndForgetsThemAtLogout()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: TestStack.OrdersRoute(upstream.Url));
        var memo = stack.Gateway.Services.GetRequiredService<SessionKeyMemo>();
        using var http = new HttpClient();

        // Forged cookies of the right shape: refused, and none of them takes a place a real user's cookie would need.
        for (var i = 0; i < 20; i++)
        {
            using var forged = new HttpRequestMessage(HttpMethod.Get, stack.Origin + "/api/orders/1");
            forged.Headers.Add("Cookie", "__Host-portcullis=" + Identifiers.NewSecret());
            forged.Headers.Add("X-CSRF", "1");
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(forged)).StatusCode);
        }

        Assert.Equal(0, memo.Count);

        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin, "alice");
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/2", BrowserClient.Csrf)).Status);
        Assert.Equal(1, memo.Count);

        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf)).Status);
        Assert.Equal(0, memo.Count);
        Assert.Equal(2, upstream.Requests.Count);
    }
}
