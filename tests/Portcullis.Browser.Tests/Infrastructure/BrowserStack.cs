using Microsoft.Playwright;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Browser.Tests.Infrastructure;

/// <summary>
/// One test class's world, all on loopback: the real <c>oidc-provider</c>, the gateway serving the demo single-page
/// app with an API route <c>/api/whoami</c> to a recording upstream, an attacker site on another site, and one
/// Chromium. Tests take a fresh browser context each (<see cref="NewContextAsync"/>), so no cookie crosses tests.
/// The provider's access tokens live <see cref="AccessTokenLifetimeSeconds"/> seconds, so a flow that waits half
/// of that sees the gateway refresh. A derived stack changes the gateway's settings (<see cref="Adjust"/>), e.g. its
/// session mode (<see cref="SplitKeyBrowserStack"/>).
/// </summary>
public class BrowserStack : IAsyncLifetime
{
    public const int AccessTokenLifetimeSeconds = 6;
    public const string SessionCookieName = "__Host-portcullis";
    public const string ApiPath = "/api/whoami";

    /// <summary>A WebSocket route to the recording upstream, which records the upgrade request it is handed.</summary>
    public const string WebSocketPath = "/api/live";

    private IPlaywright? _playwright;

    public TestIdp Idp { get; private set; } = null!;

    public GatewayHost Gateway { get; private set; } = null!;

    public RecordingUpstream Upstream { get; private set; } = null!;

    public AttackerSite Attacker { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary><c>http://localhost:PORT</c>, the app's and the gateway's origin.</summary>
    public string Origin => Gateway.Origin;

    public async Task InitializeAsync()
    {
        var port = FreePort.Next();
        var dataDirectory = Directory.CreateTempSubdirectory("portcullis-browser-").FullName;
        Idp = await TestIdp.StartAsync([$"http://localhost:{port}"], accessTokenTtl: AccessTokenLifetimeSeconds);
        Upstream = await RecordingUpstream.StartAsync();
        Attacker = await AttackerSite.StartAsync();

        var settings = GatewayHost.DefaultSettings(port, Idp, dataDirectory);
        settings["Portcullis:Frontend:StaticRoot"] = Path.Combine(RepositoryPaths.Root, "samples", "Demo", "wwwroot");
        settings["Portcullis:Apis:whoami:Path"] = ApiPath;
        settings["Portcullis:Apis:whoami:Upstream"] = Upstream.Url;
        settings["Portcullis:Apis:live:Path"] = WebSocketPath;
        settings["Portcullis:Apis:live:Upstream"] = Upstream.Url;
        settings["Portcullis:Apis:live:WebSockets"] = "true";
        // The operator page, for alice only (AdminPageTests).
        settings["Portcullis:Policies:operators:RequireClaims:email:0"] = "alice@example.com";
        settings["Portcullis:Admin:Policy"] = "operators";
        Adjust(settings);
        // The gateway's Debug events too: refusals an attacker can repeat at will are Debug (SECURITY.md item 42), and
        // CrossSiteAttackTests counts them.
        Gateway = await GatewayHost.StartAsync(settings, port, dataDirectory, CapturedLogs.IncludeDebug);

        (_playwright, Browser) = await Chromium.LaunchAsync();
        Assertions.SetDefaultExpectTimeout(30_000);
    }

    /// <summary>Changes to the gateway's settings before it starts; none here.</summary>
    protected virtual void Adjust(Dictionary<string, string?> settings)
    {
    }

    public async Task<IBrowserContext> NewContextAsync()
    {
        var context = await Browser.NewContextAsync();
        // Generous: the machine running the suite is often shared and loaded.
        context.SetDefaultTimeout(30_000);
        return context;
    }

    /// <summary>Signs in as a person does: the app's button, the provider's own login page, back to the app.</summary>
    public async Task LogInAsync(IPage page, string user = "alice")
    {
        await page.GotoAsync(Origin + "/");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed out");
        await page.ClickAsync("#login");
        await WaitForProviderAsync(page);
        await page.FillAsync("#username", user);
        await page.FillAsync("#password", TestIdp.Password);
        await page.ClickAsync("#login");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("signed in");
    }

    /// <summary>
    /// Waits until the page shows a provider page. Polls the URL rather than waiting for a navigation event, which a
    /// navigation committed just before the wait began can slip past on a loaded machine.
    /// </summary>
    public async Task WaitForProviderAsync(IPage page)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (!page.Url.StartsWith(Idp.Issuer, StringComparison.Ordinal))
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new InvalidOperationException($"The login did not reach the provider; the page is {page.Url}: {await page.InnerTextAsync("body")}");
            }

            await Task.Delay(100); // real: waits for Chromium to navigate
        }

        // The URL changes when the navigation commits, before the page has loaded: a screenshot taken then fails with
        // "Unable to capture screenshot" (seen on a loaded machine), and a click can miss an element not yet there.
        // Every page of the test provider opens with its <h1> title, so the page is ready once that is shown. Waiting
        // for the "load" lifecycle event instead once hung for 30 s with the page already shown (CI, 2026-12-07:
        // Playwright reported "networkidle" and never "load"); an element is what the next step needs anyway.
        await page.Locator("h1").WaitForAsync(new() { State = WaitForSelectorState.Visible });
    }

    /// <summary>The session cookie as the browser holds it (test code can read what page script cannot).</summary>
    public static async Task<BrowserContextCookiesResult> SessionCookieAsync(IBrowserContext context) =>
        (await context.CookiesAsync()).Single(c => c.Name == SessionCookieName);

    /// <summary><c>/bff/user</c> status as the app itself would ask for it.</summary>
    public static Task<int> UserStatusAsync(IPage page) =>
        page.EvaluateAsync<int>("fetch('/bff/user', { headers: { 'X-CSRF': '1' } }).then(r => r.status)");

    /// <summary>An API call through the gateway, as the app itself would make it.</summary>
    public static Task<int> ApiStatusAsync(IPage page) =>
        page.EvaluateAsync<int>($"fetch('{ApiPath}', {{ headers: {{ 'X-CSRF': '1' }} }}).then(r => r.status)");

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
            TryDelete(Gateway.DataDirectory);
        }

        if (Upstream is not null)
        {
            await Upstream.DisposeAsync();
        }

        if (Attacker is not null)
        {
            await Attacker.DisposeAsync();
        }

        if (Idp is not null)
        {
            await Idp.DisposeAsync();
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
