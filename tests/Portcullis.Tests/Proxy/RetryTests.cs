using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Proxy;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>Issue 4: an upstream 401 renews the token once and retries once, only for replayable requests; never a loop.</summary>
public sealed class RetryTests
{
    [Fact]
    public async Task AnUpstream401OnceCausesOneRefreshAndOneRetryWithTheSameBody()
    {
        var answered = 0;
        await using var upstream = await ProxyUpstream.StartAsync(async (context, request) =>
        {
            if (Interlocked.Increment(ref answered) == 1)
            {
                context.Response.StatusCode = 401;
                await context.Response.WriteAsync("token rejected");
                return;
            }

            await context.Response.WriteAsync("ok:" + Encoding.UTF8.GetString(request.Body ?? []));
        });
        await using var stack = await TestStack.StartAsync(adjust: s => Routes.Add(s, "orders", "/api/orders", upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var loginToken = (await stack.Idp.TokensAsync()).Single().AccessToken;

        var response = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/api/orders", new StringContent("{\"item\":42}", Encoding.UTF8, "application/json"), BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("ok:{\"item\":42}", response.Body);
        var refreshes = (await stack.Idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "refresh_token").ToArray();
        Assert.Single(refreshes);
        var refreshed = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token").AccessToken;
        var requests = upstream.Requests.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.Equal($"Bearer {loginToken}", requests[0].Headers["Authorization"]);
        Assert.Equal($"Bearer {refreshed}", requests[1].Headers["Authorization"]);
        Assert.Equal(requests[0].Body, requests[1].Body);
        Assert.True(await stack.Idp.IsActiveAsync(refreshed!));
        Assert.Contains(stack.Gateway.Logs.Lines, l => l.Contains("[2000]", StringComparison.Ordinal));
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUpstreamThatAnswers401TwiceGetsNoThirdAttemptAndItsAnswerPassesThrough()
    {
        await using var upstream = await ProxyUpstream.StartAsync(async (context, _) =>
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            await context.Response.WriteAsync("upstream says no");
        });
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 600, clock: clock, adjust: s => Routes.Add(s, "orders", "/api/orders", upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        var response = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Equal("upstream says no", response.Body);
        Assert.Equal("Bearer error=\"invalid_token\"", response.Headers["WWW-Authenticate"]);
        Assert.Equal(2, upstream.Requests.Count);
        Assert.Equal(1, await RefreshesAsync(stack));

        // The renewed token was refused too: the 401 is not about the token. Later requests get it as it is, without a
        // refresh each (a user, or a script with their cookie, could otherwise drive the provider's rate limit).
        for (var i = 0; i < 20; i++)
        {
            var again = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);
            Assert.Equal((HttpStatusCode.Unauthorized, "upstream says no"), (again.Status, again.Body));
        }

        Assert.Equal(22, upstream.Requests.Count);
        Assert.Equal(1, await RefreshesAsync(stack));

        // A minute later the token may be renewed for a 401 again, once.
        clock.Advance(RejectedTokenRenewals.Floor);
        await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);
        Assert.Equal(24, upstream.Requests.Count);
        Assert.Equal(2, await RefreshesAsync(stack));
    }

    private static async Task<int> RefreshesAsync(TestStack stack) =>
        (await stack.Idp.EventsAsync("token")).Count(e => e.GetProperty("grant_type").GetString() == "refresh_token");

    [Fact]
    public async Task ABodyLargerThanTheRetryBoundIsStreamedAndNotRetried()
    {
        await using var upstream = await ProxyUpstream.StartAsync(async (context, _) =>
        {
            context.Response.StatusCode = 401;
            await context.Response.WriteAsync("no");
        });
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            Routes.Add(s, "orders", "/api/orders", upstream.Url);
            s["Portcullis:Apis:orders:RetryBodyLimit"] = "1024";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        var response = await browser.SendAsync(HttpMethod.Put, $"{stack.Origin}/api/orders/1", new ByteArrayContent(new byte[4096]), BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Equal("no", response.Body);
        var request = Assert.Single(upstream.Requests);
        Assert.Equal(4096, request.BodyLength);
        Assert.DoesNotContain(await stack.Idp.EventsAsync("token"), e => e.GetProperty("grant_type").GetString() == "refresh_token");
    }

    [Fact]
    public async Task OtherUpstreamErrorsPassThroughUnchangedWithoutRetry()
    {
        await using var upstream = await ProxyUpstream.StartAsync(async (context, _) =>
        {
            context.Response.StatusCode = 403;
            context.Response.Headers["X-Upstream"] = "yes";
            await context.Response.WriteAsync("{\"upstream\":\"forbidden\"}");
        });
        await using var stack = await TestStack.StartAsync(adjust: s => Routes.Add(s, "orders", "/api/orders", upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        var response = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Forbidden, response.Status);
        Assert.Equal("{\"upstream\":\"forbidden\"}", response.Body);
        Assert.Equal("yes", response.Headers["X-Upstream"]);
        Assert.Single(upstream.Requests);
    }

    /// <summary>
    /// A caller declares a body and stops sending part way: the gateway, reading it for a possible retry, met Kestrel's
    /// minimum data rate (240 bytes/s after a 5 s grace) and let the exception escape, one Error line per such request.
    /// Now the caller's own doing is answered with its status (408) and logged as a refused request; nothing reaches the
    /// upstream.
    /// </summary>
    [Fact]
    public async Task ABodyThatStopsShortOfItsDeclaredLengthGetsItsOwn4xxAndNoErrorInTheLogs()
    {
        await using var upstream = await ProxyUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s => Routes.Add(s, "orders", "/api/orders", upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];

        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync("127.0.0.1", stack.Gateway.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /api/orders HTTP/1.1\r\nHost: localhost:{stack.Gateway.Port}\r\nCookie: __Host-portcullis={cookie}\r\nX-CSRF: 1\r\n" +
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"id\": 1}"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var answer = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var logs = stack.Gateway.Logs.Lines.ToArray();

        Assert.StartsWith("HTTP/1.1 408 ", answer);
        Assert.Contains("\"error\":\"invalid_request\"", answer);
        Assert.Empty(upstream.Requests);
        Assert.Contains(logs, line => line.Contains("[2005]", StringComparison.Ordinal)); // ProxyRequestBodyIncomplete
        Assert.DoesNotContain(logs, line => line.StartsWith("Error ", StringComparison.Ordinal) || line.StartsWith("Critical ", StringComparison.Ordinal));
    }
}
