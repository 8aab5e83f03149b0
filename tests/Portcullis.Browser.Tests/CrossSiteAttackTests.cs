using System.Text.Json;
using Microsoft.Playwright;
using Portcullis.Browser.Tests.Infrastructure;

namespace Portcullis.Browser.Tests;

/// <summary>
/// Issue 6, case 4 (SECURITY.md items 6, 7, 9): a page on another site (<c>127.0.0.1</c>), opened in the signed-in
/// user's browser, tries to act with the user's session. Every attempt is refused by the gateway, Chromium does not
/// even attach the <c>SameSite=Strict</c> session cookie, the upstream API sees nothing, and the session still works.
/// </summary>
public sealed class CrossSiteAttackTests(BrowserStack stack) : IClassFixture<BrowserStack>
{
    [Fact]
    public async Task FormsImagesBeaconsAndLinksFromAnotherSiteAreRefusedAndChangeNothing()
    {
        await using var context = await stack.NewContextAsync();
        var network = NetworkRecorder.Attach(context);
        var app = await context.NewPageAsync();
        await stack.LogInAsync(app);
        var before = await SnapshotAsync(context);

        var attacker = await context.NewPageAsync();
        foreach (var (name, action, fields) in new (string, string, string)[]
        {
            ("logout-form", "/bff/logout?via=form", string.Empty),
            ("api-form", BrowserStack.ApiPath + "?via=form", "<input name=\"amount\" value=\"1000\">"),
            // The classic trick for a JSON API: a text/plain body that parses as JSON.
            ("api-json-form", BrowserStack.ApiPath + "?via=json-form", "<input name='{\"amount\":1000,\"x\":\"' value='\"}'>"),
        })
        {
            var enctype = name == "api-json-form" ? "text/plain" : "application/x-www-form-urlencoded";
            var page = stack.Attacker.Serve("/" + name, $$"""
                <!doctype html><html><body><h1>You won a prize</h1>
                <form method="post" enctype="{{enctype}}" action="{{stack.Origin}}{{action}}">{{fields}}</form>
                <script>document.forms[0].submit()</script></body></html>
                """);
            var response = await attacker.RunAndWaitForResponseAsync(
                () => attacker.GotoAsync(page),
                r => r.Url == stack.Origin + action && r.Request.Method == "POST");
            Assert.Equal(403, response.Status);
            Assert.Contains("csrf_check_failed", await response.TextAsync());
        }

        await attacker.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("cross-site-1-form-refused") });

        var images = stack.Attacker.Serve("/images", $"""
            <!doctype html><html><body>
            <img src="{stack.Origin}{BrowserStack.ApiPath}?via=img"><img src="{stack.Origin}/bff/user?via=img">
            <script>navigator.sendBeacon('{stack.Origin}/bff/logout?via=beacon', 'x')</script>
            <a id="go" href="{stack.Origin}{BrowserStack.ApiPath}?via=link">see your prize</a>
            </body></html>
            """);
        await attacker.RunAndWaitForResponseAsync(
            () => attacker.GotoAsync(images),
            r => r.Url.EndsWith("?via=beacon", StringComparison.Ordinal));
        var link = await attacker.RunAndWaitForResponseAsync(() => attacker.ClickAsync("#go"), r => r.Url.EndsWith("?via=link", StringComparison.Ordinal));
        Assert.Equal(403, link.Status);

        // Chromium hides the answers to the images from the page (opaque-response blocking), so the gateway's own
        // record counts them: every attempt was refused by the anti-forgery check.
        var (requests, responses) = await AttemptsOnTheGatewayAsync(network, ["via=form", "via=json-form", "via=img", "via=beacon", "via=link"]);
        Assert.Equal(7, requests.Length);
        Assert.All(responses, r => Assert.Equal(403, r.Status));
        Assert.Equal(before.CsrfRefusals + requests.Length, CsrfRefusals());
        AssertSessionCookieNeverSent(requests);
        await AssertNothingChangedAsync(context, app, before);
    }

    [Fact]
    public async Task CrossSiteFetchWithCredentialsReadsNothingAndChangesNothing()
    {
        await using var context = await stack.NewContextAsync();
        var network = NetworkRecorder.Attach(context);
        var app = await context.NewPageAsync();
        await stack.LogInAsync(app);
        var before = await SnapshotAsync(context);

        var attacker = await context.NewPageAsync();
        await attacker.GotoAsync(stack.Attacker.Serve("/fetch", "<!doctype html><html><body><h1>Loading…</h1></body></html>"));
        var json = await attacker.EvaluateAsync<string>("""
            async (gateway) => {
              const attempts = [
                ['api', '/api/whoami?via=fetch-api', { credentials: 'include' }],
                ['api with the CSRF header (preflight)', '/api/whoami?via=fetch-api-csrf', { credentials: 'include', headers: { 'X-CSRF': '1' } }],
                ['api, no-cors', '/api/whoami?via=fetch-api-no-cors', { credentials: 'include', mode: 'no-cors' }],
                ['api POST, no-cors', '/api/whoami?via=fetch-api-post', { method: 'POST', credentials: 'include', mode: 'no-cors', body: 'amount=1000' }],
                ['user', '/bff/user?via=fetch-user', { credentials: 'include' }],
                ['user with the CSRF header (preflight)', '/bff/user?via=fetch-user-csrf', { credentials: 'include', headers: { 'X-CSRF': '1' } }],
                ['logout, no-cors', '/bff/logout?via=fetch-logout', { method: 'POST', credentials: 'include', mode: 'no-cors' }],
              ];
              const results = [];
              for (const [name, path, init] of attempts) {
                try {
                  const response = await fetch(gateway + path, init);
                  results.push({ name, outcome: response.type + ' ' + response.status, body: await response.text() });
                } catch (error) {
                  results.push({ name, outcome: 'refused: ' + error.name, body: '' });
                }
              }
              return JSON.stringify(results);
            }
            """, stack.Origin);
        var results = JsonSerializer.Deserialize<JsonElement[]>(json)!;

        // The attacker's script learns nothing: CORS errors or opaque answers without status or body.
        Assert.Equal(7, results.Length);
        Assert.All(results, r =>
        {
            var outcome = r.GetProperty("outcome").GetString()!;
            Assert.True(outcome.StartsWith("refused: TypeError", StringComparison.Ordinal) || outcome == "opaque 0", $"{r.GetProperty("name")}: {outcome}");
            Assert.Equal(string.Empty, r.GetProperty("body").GetString());
        });

        var (requests, responses) = await AttemptsOnTheGatewayAsync(network, ["via=fetch"]);
        // What did reach the gateway was refused there, without the session cookie. Chromium lets the page see no
        // answer to a CORS-mode request the gateway grants no CORS to, so the gateway's log counts the refusals: the
        // five requests sent without a preflight, plus any preflight the API route answered itself.
        Assert.Equal(7, requests.Length);
        Assert.All(responses, r => Assert.Equal(403, r.Status));
        Assert.True(CsrfRefusals() - before.CsrfRefusals >= 5, $"only {CsrfRefusals() - before.CsrfRefusals} refusals logged");
        AssertSessionCookieNeverSent(requests);
        await AssertNothingChangedAsync(context, app, before);
    }

    [Fact]
    public async Task ACrossSiteWebSocketIsRefusedAtTheUpgradeWhileTheAppsOwnReachesTheUpstream()
    {
        await using var context = await stack.NewContextAsync();
        var app = await context.NewPageAsync();
        await stack.LogInAsync(app);
        const string Open = """
            (url) => new Promise(resolve => {
              const socket = new WebSocket(url);
              socket.onopen = () => { socket.close(); resolve('open'); };
              socket.onerror = () => resolve('error');
              setTimeout(() => resolve('timeout'), 10000);
            })
            """;

        // Control: the app's own page reaches the upstream with its upgrade (the recording upstream does not speak
        // WebSocket, so the handshake then fails there, not at the gateway).
        var upstreamBefore = stack.Upstream.Requests.Count;
        await app.EvaluateAsync<string>(Open, $"ws://localhost:{stack.Gateway.Port}{BrowserStack.WebSocketPath}?via=app");
        Assert.Contains(stack.Upstream.Requests.Skip(upstreamBefore), r => r.PathAndQuery.EndsWith("?via=app", StringComparison.Ordinal));

        var before = await SnapshotAsync(context);
        var attacker = await context.NewPageAsync();
        await attacker.GotoAsync(stack.Attacker.Serve("/socket", "<!doctype html><html><body><h1>Live prizes</h1></body></html>"));
        var outcome = await attacker.EvaluateAsync<string>(Open, $"ws://localhost:{stack.Gateway.Port}{BrowserStack.WebSocketPath}?via=attacker");

        // Refused by the origin check at the upgrade (and Chromium sent no session cookie either).
        Assert.Equal("error", outcome);
        Assert.Equal(before.CsrfRefusals + 1, CsrfRefusals());
        Assert.DoesNotContain(stack.Upstream.Requests, r => r.PathAndQuery.EndsWith("?via=attacker", StringComparison.Ordinal));
        await AssertNothingChangedAsync(context, app, before);
    }

    private async Task<Snapshot> SnapshotAsync(IBrowserContext context) =>
        new((await BrowserStack.SessionCookieAsync(context)).Value, stack.Upstream.Requests.Count, CsrfRefusals());

    /// <summary>Log event 1200 (<c>CsrfRefused</c>): one per request the anti-forgery check turned away.</summary>
    private int CsrfRefusals() => stack.Gateway.Logs.Lines.Count(line => line.Contains("[1200]", StringComparison.Ordinal));

    private async Task<(SeenRequest[] Requests, SeenResponse[] Responses)> AttemptsOnTheGatewayAsync(NetworkRecorder network, string[] markers)
    {
        bool IsAttempt(string url) => url.StartsWith(stack.Origin, StringComparison.Ordinal) && markers.Any(m => url.Contains(m, StringComparison.Ordinal));
        return ((await network.RequestsAsync()).Where(r => IsAttempt(r.Url)).ToArray(), (await network.ResponsesAsync()).Where(r => IsAttempt(r.Url)).ToArray());
    }

    private static void AssertSessionCookieNeverSent(SeenRequest[] attempts) =>
        Assert.All(attempts, a => Assert.DoesNotContain(
            BrowserStack.SessionCookieName + "=", a.Headers.GetValueOrDefault("cookie") ?? string.Empty));

    /// <summary>The same cookie still signs the user in, the API still answers, and the upstream saw only that one call.</summary>
    private async Task AssertNothingChangedAsync(IBrowserContext context, IPage app, Snapshot before)
    {
        Assert.Equal(before.UpstreamRequests, stack.Upstream.Requests.Count);
        Assert.Equal(before.CookieValue, (await BrowserStack.SessionCookieAsync(context)).Value);
        Assert.Equal(200, await BrowserStack.UserStatusAsync(app));
        Assert.Equal(200, await BrowserStack.ApiStatusAsync(app));
        Assert.Equal(before.UpstreamRequests + 1, stack.Upstream.Requests.Count);
    }

    private sealed record Snapshot(string CookieValue, int UpstreamRequests, int CsrfRefusals);
}
