using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>What the proxy logs when a call does not end normally: an upstream failure warns, a browser that left does not.</summary>
public sealed class ProxyLoggingTests
{
    private const string UpstreamFailed = "[1300]";
    private const string ClientWentAway = "[1301]";
    private const string RequestBodyTooLarge = "[1302]";

    [Fact]
    public async Task ABrowserThatCancelsItsCallIsNoUpstreamFailure()
    {
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cutOff = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await ProxyUpstream.StartAsync(async (context, _) =>
        {
            received.TrySetResult();
            // Held until the gateway gives up on this call because its browser left.
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                cutOff.TrySetResult();
            }
        });
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            Routes.Add(s, "slow", "/api/slow", upstream.Url);
            s["Logging:LogLevel:Portcullis.Proxy"] = "Debug"; // the shipped appsettings.json stops at Information
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        using var http = new HttpClient();
        using var leave = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{stack.Origin}/api/slow/report");
        request.Headers.Add("X-CSRF", "1");
        request.Headers.Add("Cookie", $"__Host-portcullis={cookie}");

        var call = http.SendAsync(request, leave.Token);
        await received.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await cutOff.Task.WaitAsync(TimeSpan.FromSeconds(15));

        var lines = await Eventually.Until(
            () => Task.FromResult(stack.Gateway.Logs.Lines.ToArray()), l => l.Any(line => line.Contains(ClientWentAway, StringComparison.Ordinal)), "the proxy to log the call's end");
        Assert.StartsWith("Debug ", Assert.Single(lines, line => line.Contains(ClientWentAway, StringComparison.Ordinal)));
        Assert.DoesNotContain(lines, line => line.Contains(UpstreamFailed, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUpstreamThatIsDownIsAWarning()
    {
        var down = FreePort.Next(); // nothing listens there
        await using var stack = await TestStack.StartAsync(adjust: s => Routes.Add(s, "down", "/api/down", $"http://127.0.0.1:{down}"));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        var response = await browser.GetAsync($"{stack.Origin}/api/down/report", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.BadGateway, response.Status);
        var line = Assert.Single(stack.Gateway.Logs.Lines, l => l.Contains(UpstreamFailed, StringComparison.Ordinal));
        Assert.StartsWith("Warning ", line);
        Assert.DoesNotContain(stack.Gateway.Logs.Lines, l => l.Contains(ClientWentAway, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ABodyThatOutgrowsTheRouteLimitWhileStreamingIsTheClientsMistakeNotTheUpstreams()
    {
        // The upstream reads what it is sent, so the body streams through until Kestrel's limit cuts it off.
        await using var upstream = await ProxyUpstream.StartAsync(async (context, _) => await context.Request.Body.CopyToAsync(Stream.Null));
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            Routes.Add(s, "files", "/api/files", upstream.Url);
            s["Portcullis:Apis:files:MaxRequestBodySize"] = "100000";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{stack.Origin}/api/files/upload");
        request.Headers.Add("X-CSRF", "1");
        request.Headers.Add("Cookie", $"__Host-portcullis={cookie}");
        request.Headers.TransferEncodingChunked = true; // no declared length: the limit is met mid-stream
        request.Content = new ByteArrayContent(new byte[300_000]);

        try
        {
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }
        catch (HttpRequestException)
        {
            // The gateway may answer and close while the client is still sending; the log below is what this test is about.
        }

        var lines = await Eventually.Until(
            () => Task.FromResult(stack.Gateway.Logs.Lines.ToArray()), l => l.Any(line => line.Contains(RequestBodyTooLarge, StringComparison.Ordinal)), "the proxy to log the refused body");
        var line = Assert.Single(lines, l => l.Contains(RequestBodyTooLarge, StringComparison.Ordinal));
        Assert.StartsWith("Information ", line);
        Assert.Contains("100000", line, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains(UpstreamFailed, StringComparison.Ordinal));
    }

    /// <summary>
    /// A replayable call (a small body of declared length, read into memory before it is forwarded) whose client leaves
    /// halfway through the body: nothing reaches the upstream and nothing is logged as the gateway's error.
    /// </summary>
    [Fact]
    public async Task AClientThatLeavesHalfwayThroughAReplayableBodyIsNoErrorOfTheGateway()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            TestStack.OrdersRoute(upstream.Url)(s);
            s["Logging:LogLevel:Microsoft.AspNetCore.Server.Kestrel"] = "Debug";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];

        var bodiesRead = BodiesStarted(stack);
        using (var client = new System.Net.Sockets.TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, stack.Gateway.Port);
            var stream = client.GetStream();
            var head = $"POST /api/orders/half HTTP/1.1\r\nHost: localhost:{stack.Gateway.Port}\r\nCookie: __Host-portcullis={cookie}\r\n"
                + "X-CSRF: 1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"half\":";
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));
            await stream.FlushAsync();
            // Halfway through the body means the gateway is reading it. Leaving before it reads is another case (Kestrel
            // aborts the request, logs "aborted by the client" and never "Unexpected end"): with a fixed 200 ms pause here a
            // loaded machine could turn one into the other, which would wait out the timeout below (the likely failure of
            // CI on 72194e5; reproduced with a 2 ms pause). So the test waits for Kestrel's "started reading request body".
            await Eventually.Until(() => Task.FromResult(BodiesStarted(stack)), started => started > bodiesRead, "the gateway to start reading the body");
        }

        var lines = await Eventually.Until(
            () => Task.FromResult(stack.Gateway.Logs.Lines.ToArray()),
            l => l.Any(line => line.Contains("[2005]", StringComparison.Ordinal)), // ProxyRequestBodyIncomplete
            "the gateway to see the body cut short");
        Assert.DoesNotContain(lines, line => line.StartsWith("Error ", StringComparison.Ordinal) || line.StartsWith("Critical ", StringComparison.Ordinal));
        Assert.DoesNotContain(upstream.Requests, r => r.PathAndQuery.Contains("half", StringComparison.Ordinal));
    }

    private static int BodiesStarted(TestStack stack) =>
        stack.Gateway.Logs.Lines.Count(l => l.Contains("started reading request body", StringComparison.Ordinal));
}
