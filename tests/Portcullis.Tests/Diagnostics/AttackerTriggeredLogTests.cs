using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Proxy;

namespace Portcullis.Tests.Diagnostics;

/// <summary>
/// SECURITY.md item 42: no refusal path writes a log line per request that an attacker can trigger at will. Each
/// refusal below is repeated; the gateway records it at Debug only (API routes also count it in
/// <c>portcullis.proxy.requests</c> by status class), so a flood adds nothing to the shipped Information-level log.
/// Before 2026-12-08 the anti-forgery (1200) and proxy (2002) refusals were Warnings, one line per request.
/// </summary>
public sealed class AttackerTriggeredLogTests
{
    private const int Repeats = 25;

    [Fact]
    public async Task AntiForgeryAmbiguousPathAndUpgradeRefusalsRepeatedAtWillWriteNothingAboveDebug()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: TestStack.OrdersRoute(upstream.Url), configure: CapturedLogs.IncludeDebug);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = $"__Host-portcullis={browser.CookiesFor("localhost")["__Host-portcullis"]}";
        var attacks = new (string Method, string Target, Dictionary<string, string> Headers, int Status)[]
        {
            ("POST", "/api/orders", new() { ["Cookie"] = cookie, ["Content-Length"] = "0" }, 403),
            ("POST", "/api/orders", new() { ["Cookie"] = cookie, ["X-CSRF"] = "1", ["Origin"] = "https://evil.example", ["Content-Length"] = "0" }, 403),
            ("POST", "/bff/logout", new() { ["Cookie"] = cookie, ["Content-Length"] = "0" }, 403),
            ("GET", "/api/orders/a%2Fb", new() { ["Cookie"] = cookie, ["X-CSRF"] = "1" }, 400),
            ("GET", "/api/orders", new() { ["Cookie"] = cookie, ["X-CSRF"] = "1", ["Origin"] = stack.Origin, ["Connection"] = "Upgrade, close", ["Upgrade"] = "SPDY/3.1" }, 400),
        };

        for (var i = 0; i < Repeats; i++)
        {
            foreach (var (method, target, headers, status) in attacks)
            {
                Assert.Equal(status, (await RawHttp.SendAsync(stack.Gateway.Port, target, headers, method)).Status);
            }
        }

        Assert.Empty(upstream.Requests);
        // Each refusal was recorded (the events fired), at Debug only.
        Assert.Equal(3 * Repeats, stack.Gateway.Logs.CountOf(1200)); // CsrfRefused
        Assert.Equal(2 * Repeats, stack.Gateway.Logs.CountOf(2002)); // ProxyRequestRefused
        Assert.Empty(stack.Gateway.Logs.AboveDebug(1200));
        Assert.Empty(stack.Gateway.Logs.AboveDebug(2002));
        // The session is untouched by all of it.
        Assert.Equal(System.Net.HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }
}
