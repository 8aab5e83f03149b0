using System.Net;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Tokens;

public sealed class RefreshTests
{
    [Fact]
    public async Task ConcurrentRequestsNeedingAnExpiringTokenCauseExactlyOneRefreshAndAllSucceed()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        // Access tokens live 6 s and are refreshed 1 s before expiry: the refreshed token stays fresh longer than the
        // storm takes even on a loaded machine, so a second refresh would be a real double one.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 6, clock: clock, adjust: s =>
        {
            TestStack.OrdersRoute(upstream.Url)(s);
            s["Portcullis:Refresh:Skew"] = "00:00:01";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/warm", BrowserClient.Csrf)).Status);
        Assert.DoesNotContain(await stack.Idp.EventsAsync("token"), e => e.GetProperty("grant_type").GetString() == "refresh_token");
        clock.Advance(TimeSpan.FromSeconds(5.3)); // the gateway now finds the token due; the provider still honours it

        using var http = new HttpClient();
        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{stack.Origin}/api/orders/{i}");
            request.Headers.Add("Cookie", $"__Host-portcullis={cookie}");
            request.Headers.Add("X-CSRF", "1");
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }));

        Assert.All(responses, status => Assert.Equal(HttpStatusCode.OK, status));
        var refreshes = (await stack.Idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "refresh_token").ToArray();
        Assert.Single(refreshes);
        Assert.Equal("success", refreshes[0].GetProperty("outcome").GetString());

        // The upstream got the refreshed access token, never the browser's cookie or CSRF header.
        var refreshed = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token").AccessToken;
        Assert.Equal(201, upstream.Requests.Count);
        Assert.All(upstream.Requests.Skip(1), r =>
        {
            Assert.Equal($"Bearer {refreshed}", r.Headers["Authorization"]);
            Assert.False(r.Headers.ContainsKey("Cookie"));
            Assert.False(r.Headers.ContainsKey("X-CSRF"));
        });
        Assert.True(await stack.Idp.IsActiveAsync(refreshed!));
    }

    [Fact]
    public async Task ARevokedGrantEndsTheSessionWithReauthenticationRequired()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 2, clock: clock, adjust: TestStack.OrdersRoute(upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        await stack.Idp.RevokeGrantAsync("alice");
        clock.Advance(TimeSpan.FromSeconds(1.2)); // past the refresh point (half of the 2 s lifetime)
        var response = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Contains("\"error\":\"reauthentication_required\"", response.Body);
        Assert.Empty(upstream.Requests);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM grants"));
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM sessions"));
    }

    /// <summary>
    /// Issue 14, item 4: a token never comes due again at once. The proactive refresh happens <c>Refresh:Skew</c>
    /// before expiry but never in the first half of the lifetime the provider actually granted, so one grant is
    /// refreshed at most once per half lifetime, however large the skew or small the lifetime.
    /// </summary>
    [Fact]
    public async Task ASkewLargerThanTheLifetimeRefreshesAtHalfLifeAndNeverTwiceInARow()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(
            adjust: s =>
            {
                TestStack.OrdersRoute(upstream.Url)(s);
                s["Portcullis:Refresh:Skew"] = "00:10:00"; // longer than the provider's 120 s tokens
            },
            clock: clock);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        async Task<int> RefreshesAfterCallsAsync(int calls)
        {
            for (var i = 0; i < calls; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/{i}", BrowserClient.Csrf)).Status);
            }

            return (await stack.Idp.EventsAsync("token")).Count(e => e.GetProperty("grant_type").GetString() == "refresh_token");
        }

        Assert.Equal(0, await RefreshesAfterCallsAsync(3)); // a fresh token is not due although the skew exceeds its life
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0, await RefreshesAfterCallsAsync(3));
        clock.Advance(TimeSpan.FromSeconds(2)); // past half of 120 s
        Assert.Equal(1, await RefreshesAfterCallsAsync(5));
        clock.Advance(TimeSpan.FromSeconds(59)); // the refreshed token is 59 s old: not due again
        Assert.Equal(1, await RefreshesAfterCallsAsync(5));
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2, await RefreshesAfterCallsAsync(5));
    }
}
