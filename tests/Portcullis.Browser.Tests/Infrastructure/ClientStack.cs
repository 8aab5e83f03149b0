using Microsoft.Playwright;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Browser.Tests.Infrastructure;

/// <summary>
/// The client's world, on loopback: the real <c>oidc-provider</c>, the gateway serving the built client beside a test
/// page (Client/Harness: <c>window.portcullis</c>, <c>window.events</c>), an API route <c>/api/whoami</c> and a step-up
/// route <c>/api/recent</c> (sign-in at most <see cref="StepUpMaxAgeSeconds"/> old) to a recording upstream, and Chromium.
/// </summary>
public sealed class ClientStack : IAsyncLifetime
{
    public const int StepUpMaxAgeSeconds = 300;

    private IPlaywright? _playwright;
    private string? _staticRoot;

    public TestIdp Idp { get; private set; } = null!;

    public GatewayHost Gateway { get; private set; } = null!;

    public RecordingUpstream Upstream { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public string Origin => Gateway.Origin;

    public async Task InitializeAsync()
    {
        var harness = System.IO.Path.Combine(RepositoryPaths.Root, "tests", "Portcullis.Browser.Tests", "Client", "Harness");
        _staticRoot = BuiltClient.StaticRoot(Directory.GetFiles(harness).ToDictionary(file => System.IO.Path.GetFileName(file), File.ReadAllText));
        var port = FreePort.Next();
        var dataDirectory = Directory.CreateTempSubdirectory("portcullis-client-").FullName;
        Idp = await TestIdp.StartAsync([$"http://localhost:{port}"]);
        Upstream = await RecordingUpstream.StartAsync();

        var settings = GatewayHost.DefaultSettings(port, Idp, dataDirectory);
        settings["Portcullis:Frontend:StaticRoot"] = _staticRoot;
        settings["Portcullis:Apis:whoami:Path"] = "/api/whoami";
        settings["Portcullis:Apis:whoami:Upstream"] = Upstream.Url;
        settings["Portcullis:Policies:recent:MaxAge"] = TimeSpan.FromSeconds(StepUpMaxAgeSeconds).ToString("c");
        settings["Portcullis:Apis:recent:Path"] = "/api/recent";
        settings["Portcullis:Apis:recent:Upstream"] = Upstream.Url;
        settings["Portcullis:Apis:recent:Policy"] = "recent";
        Gateway = await GatewayHost.StartAsync(settings, port, dataDirectory);

        (_playwright, Browser) = await Chromium.LaunchAsync();
        Assertions.SetDefaultExpectTimeout(30_000);
    }

    public async Task<IBrowserContext> NewContextAsync()
    {
        var context = await Browser.NewContextAsync();
        context.SetDefaultTimeout(30_000); // generous: the machine running the suite is shared and loaded
        return context;
    }

    /// <summary>Opens the test page (<paramref name="query"/> sets the client's options) and waits for the client.</summary>
    public async Task<IPage> OpenAsync(IBrowserContext context, string query = "")
    {
        var page = await context.NewPageAsync();
        await OpenAsync(page, query);
        return page;
    }

    public async Task OpenAsync(IPage page, string query = "")
    {
        await page.GotoAsync($"{Origin}/index.html{query}");
        await Assertions.Expect(page.Locator("#ready")).ToHaveTextAsync("ready");
    }

    /// <summary>
    /// Runs <paramref name="script"/>, which starts a navigation through the provider (login, step-up, link), and
    /// follows it: signs in on the provider's form if it shows one, and returns once the test page has loaded again.
    /// A marker set on the old page tells the new page from it, whether or not the provider asked for a password.
    /// Answers whether the provider showed its login form.
    /// </summary>
    public async Task<bool> FollowLoginAsync(IPage page, string script, string user = "alice")
    {
        await page.EvaluateAsync($"() => {{ window.leaving = true; setTimeout(() => {{ {script}; }}, 0); }}");
        var deadline = DateTimeOffset.UtcNow.AddSeconds(45);
        var signedIn = false;
        while (DateTimeOffset.UtcNow < deadline)
        {
            try
            {
                if (!signedIn && page.Url.StartsWith(Idp.Issuer, StringComparison.Ordinal) && await page.Locator("#username").CountAsync() > 0)
                {
                    await page.FillAsync("#username", user);
                    await page.FillAsync("#password", TestIdp.Password);
                    await page.ClickAsync("#login");
                    signedIn = true;
                }
                else if (page.Url.StartsWith(Origin + "/index.html", StringComparison.Ordinal)
                    && await page.EvaluateAsync<bool>("() => window.leaving === undefined && window.portcullis !== undefined"))
                {
                    return signedIn;
                }
            }
            catch (PlaywrightException)
            {
                // The page navigated between two of these steps: look again.
            }

            await Task.Delay(100); // real: waits for Chromium to navigate
        }

        throw new InvalidOperationException($"The login did not come back to the test page; the page is {page.Url}");
    }

    public async ValueTask DisposeAsyncCore()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
        }

        if (Upstream is not null)
        {
            await Upstream.DisposeAsync();
        }

        if (Idp is not null)
        {
            await Idp.DisposeAsync();
        }

        if (_staticRoot is not null)
        {
            Directory.Delete(_staticRoot, recursive: true);
        }
    }

    public Task DisposeAsync() => DisposeAsyncCore().AsTask();
}
