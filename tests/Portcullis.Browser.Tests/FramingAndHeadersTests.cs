using Microsoft.Playwright;
using Portcullis.Browser.Tests.Infrastructure;

namespace Portcullis.Browser.Tests;

/// <summary>
/// Issue 6, case 5 (SECURITY.md items 17, 35): another site cannot frame the gateway's pages (Chromium refuses to
/// render them), the gateway's answers carry <c>nosniff</c> and a <c>Referrer-Policy</c>, login and callback send
/// <c>no-referrer</c>, and the app lands on a URL without <c>code</c> or <c>state</c>.
/// </summary>
public sealed class FramingAndHeadersTests(BrowserStack stack) : IClassFixture<BrowserStack>
{
    [Fact]
    public async Task AnotherSiteCannotFrameTheGatewaysPages()
    {
        await using var context = await stack.NewContextAsync();
        var app = await context.NewPageAsync();
        await stack.LogInAsync(app);
        var network = NetworkRecorder.Attach(context); // from here on, only the attacker's page loads documents

        var framed = new[] { "/", "/index.html", "/bff/login?returnUrl=//evil.example", "/bff/callback/main?code=x&state=y" };
        stack.Attacker.Serve("/framable", "<!doctype html><html><body><p id=\"framed\">the attacker's own page</p></body></html>");
        var page = stack.Attacker.Serve("/frames", $$"""
            <!doctype html><html><body><h1>Click the button to win</h1>
            <iframe name="control" src="/framable"></iframe>
            {{string.Join("\n", framed.Select((path, i) => $"<iframe name=\"gateway{i}\" src=\"{stack.Origin}{path}\"></iframe>"))}}
            </body></html>
            """);
        var attacker = await context.NewPageAsync();
        var console = new List<string>();
        attacker.Console += (_, message) => console.Add(message.Text);
        await attacker.GotoAsync(page, new() { WaitUntil = WaitUntilState.Load });
        await attacker.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("framing-1-blocked") });

        // The control frame shows that framing as such works here; the gateway's frames stay empty.
        var control = attacker.Frame("control")!;
        Assert.True(await control.EvaluateAsync<bool>("!!document.getElementById('framed')"));
        for (var i = 0; i < framed.Length; i++)
        {
            var frame = attacker.Frame($"gateway{i}")!;
            Assert.False(frame.Url.StartsWith(stack.Origin, StringComparison.Ordinal), $"{framed[i]} rendered in a frame at {frame.Url}");
            var text = await frame.EvaluateAsync<string>("document.body ? document.body.innerText : ''");
            Assert.DoesNotContain("Portcullis demo", text);
            Assert.DoesNotContain("Sign-in", text);
        }

        Assert.Equal(framed.Length, console.Count(m => m.Contains("frame-ancestors", StringComparison.Ordinal)));
        var frameResponses = (await network.ResponsesAsync())
            .Where(r => r.Request.ResourceType == "document" && r.Url.StartsWith(stack.Origin, StringComparison.Ordinal))
            .ToArray();
        Assert.Equal(framed.Length, frameResponses.Length);
        Assert.All(frameResponses, r =>
        {
            Assert.Equal("DENY", r.Header("x-frame-options"));
            Assert.Contains("frame-ancestors 'none'", r.Header("content-security-policy"));
        });
    }

    [Fact]
    public async Task GatewayAnswersCarryNosniffAndAReferrerPolicyAndLoginAndCallbackLeakNoReferrer()
    {
        await using var context = await stack.NewContextAsync();
        var network = NetworkRecorder.Attach(context);
        var page = await context.NewPageAsync();
        await stack.LogInAsync(page);

        // Landed on the app's own URL: no code, no state, nothing of the callback left in the address bar.
        Assert.Equal(stack.Origin + "/", page.Url);
        Assert.Equal(string.Empty, await page.EvaluateAsync<string>("location.search + location.hash"));
        await page.GotoAsync(stack.Origin + "/bff/login?returnUrl=//evil.example");
        await page.GotoAsync(stack.Origin + "/bff/no-such-endpoint");
        await page.GotoAsync(stack.Origin + "/");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed in");

        var responses = await network.ResponsesAsync();
        var requests = await network.RequestsAsync();
        var own = responses.Where(r => r.Url.StartsWith(stack.Origin, StringComparison.Ordinal)
            && !new Uri(r.Url).AbsolutePath.StartsWith(BrowserStack.ApiPath, StringComparison.Ordinal)).ToArray();
        Assert.True(own.Length >= 12, $"only {own.Length} gateway responses were seen");
        Assert.All(own, r =>
        {
            Assert.Equal("nosniff", r.Header("x-content-type-options"));
            Assert.False(string.IsNullOrEmpty(r.Header("referrer-policy")), $"{r.Url} has no Referrer-Policy");
            Assert.False(string.IsNullOrEmpty(r.Header("content-security-policy")), $"{r.Url} has no Content-Security-Policy");
        });

        var loginAndCallback = own.Where(r => new Uri(r.Url).AbsolutePath is "/bff/login" or "/bff/callback/main").ToArray();
        Assert.Equal(3, loginAndCallback.Length); // the login, its refused twin and the callback
        Assert.All(loginAndCallback, r =>
        {
            Assert.Equal("no-referrer", r.Header("referrer-policy"));
            Assert.Equal("no-store", r.Header("cache-control"));
        });

        // What no-referrer buys: the provider learns nothing of the app's URL, and nothing the browser sent after the
        // callback names the code or state.
        var authorize = requests.First(r => r.Url.StartsWith(stack.Idp.Issuer + "/auth?", StringComparison.Ordinal));
        Assert.False(authorize.Headers.ContainsKey("referer"), "the authorization request carried " + authorize.Headers.GetValueOrDefault("referer"));
        Assert.All(requests, r => Assert.DoesNotContain("code=", r.Headers.GetValueOrDefault("referer") ?? string.Empty));
        Assert.All(requests, r => Assert.DoesNotContain("state=", r.Headers.GetValueOrDefault("referer") ?? string.Empty));

        // The landing page loads nothing from anywhere else (SECURITY.md item 17).
        var callback = Array.FindIndex(requests, r => r.Url.StartsWith(stack.Origin + "/bff/callback/main?", StringComparison.Ordinal));
        Assert.True(callback >= 0);
        Assert.All(requests.Skip(callback), r => Assert.StartsWith(stack.Origin, r.Url));
    }
}
