using System.Net;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Proxy;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>Issue 4: <c>client</c> routes carry the gateway's own client-credentials token, requested once for many calls.</summary>
public sealed class ClientTokenTests
{
    [Fact]
    public async Task AClientRouteMakesOneTokenRequestForManyConcurrentCalls()
    {
        await using var upstream = await ProxyUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            Routes.Add(s, "inventory", "/api/inventory", upstream.Url, "client");
            s["Portcullis:Apis:inventory:ClientScopes:0"] = "api";
        });
        using var http = new HttpClient();

        var statuses = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{stack.Origin}/api/inventory/{i}");
            request.Headers.Add("X-CSRF", "1");
            request.Headers.Add("Cookie", "__Host-portcullis=not-a-session");
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }));
        for (var i = 0; i < 10; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{stack.Origin}/api/inventory/seq{i}");
            request.Headers.Add("X-CSRF", "1");
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        var tokenRequests = await stack.Idp.EventsAsync("token");
        var issued = Assert.Single(tokenRequests);
        Assert.Equal("client_credentials", issued.GetProperty("grant_type").GetString());
        var token = (await stack.Idp.TokensAsync()).Single().AccessToken!;
        Assert.Equal(50, upstream.Requests.Count);
        Assert.All(upstream.Requests, r =>
        {
            Assert.Equal($"Bearer {token}", r.Headers["Authorization"]);
            Assert.False(r.Headers.ContainsKey("Cookie"));
        });
        Assert.True(await stack.Idp.IsActiveAsync(token));
        Assert.DoesNotContain(token, stack.Gateway.Logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClientTokenIsRenewedShortlyBeforeItExpiresAndAfterAnUpstream401()
    {
        var rejectFirst = 1;
        await using var upstream = await ProxyUpstream.StartAsync(async (context, _) =>
        {
            if (context.Request.Path.StartsWithSegments("/api/inventory/reject") && Interlocked.Exchange(ref rejectFirst, 0) == 1)
            {
                context.Response.StatusCode = 401;
                return;
            }

            await context.Response.WriteAsync("ok");
        });
        // Tokens live 4 s: reused for the first half of their life, renewed after.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 4, clock: clock, adjust: s => Routes.Add(s, "inventory", "/api/inventory", upstream.Url, "client"));
        using var browser = new BrowserClient();

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/inventory/1", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/inventory/2", BrowserClient.Csrf)).Status);
        Assert.Single(await stack.Idp.EventsAsync("token"));
        clock.Advance(TimeSpan.FromSeconds(2.5));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/inventory/3", BrowserClient.Csrf)).Status);
        Assert.Equal(2, (await stack.Idp.EventsAsync("token")).Length);

        var retried = await browser.GetAsync($"{stack.Origin}/api/inventory/reject", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, retried.Status);
        Assert.Equal(3, (await stack.Idp.EventsAsync("token")).Length);
        var tokens = (await stack.Idp.TokensAsync()).Select(t => t.AccessToken).ToArray();
        var requests = upstream.Requests.ToArray();
        Assert.Equal(5, requests.Length);
        Assert.Equal($"Bearer {tokens[1]}", requests[3].Headers["Authorization"]);
        Assert.Equal($"Bearer {tokens[2]}", requests[4].Headers["Authorization"]);
    }

    /// <summary>
    /// An anonymous caller (no session is needed on a client route) hits a path the upstream always refuses: without a
    /// floor each call renewed the gateway's token at the provider, one client-credentials request per call.
    /// </summary>
    [Fact]
    public async Task AnUpstreamThatAlwaysAnswers401CostsOneRenewalAMinuteNotOnePerCall()
    {
        await using var upstream = await ProxyUpstream.StartAsync((context, _) =>
        {
            context.Response.StatusCode = 401;
            return Task.CompletedTask;
        });
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 600, clock: clock, adjust: s => Routes.Add(s, "inventory", "/api/inventory", upstream.Url, "client"));
        using var anonymous = new BrowserClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 30; i++)
        {
            statuses.Add((await anonymous.GetAsync($"{stack.Origin}/api/inventory/locked", BrowserClient.Csrf)).Status);
        }

        var tokenRequests = (await stack.Idp.EventsAsync("token")).Length;
        var upstreamCalls = upstream.Requests.Count;
        clock.Advance(RejectedTokenRenewals.Floor);
        await anonymous.GetAsync($"{stack.Origin}/api/inventory/locked", BrowserClient.Csrf);

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.Unauthorized, status));
        Assert.Equal(2, tokenRequests); // the first token, and one renewal after its 401
        Assert.Equal(31, upstreamCalls); // the first call retried once; no other call retried
        Assert.Equal(3, (await stack.Idp.EventsAsync("token")).Length); // a minute later, one renewal more
        Assert.Equal(33, upstream.Requests.Count);
    }
}
