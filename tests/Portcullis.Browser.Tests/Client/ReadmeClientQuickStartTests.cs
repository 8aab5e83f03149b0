using Microsoft.Playwright;
using Portcullis.Browser.Tests.Infrastructure;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Browser.Tests.Client;

/// <summary>
/// README's "A single-page app, with the JavaScript client", as written (issue 21 item 7): the snippet, read from
/// README.md, is the app's module, served with the built client from the gateway's static root, and signs in through
/// the real provider and calls the API.
/// </summary>
public sealed class ReadmeClientQuickStartTests
{
    [Fact]
    public async Task TheSnippetSignsInThenCallsTheApiThroughTheGateway()
    {
        var snippet = ReadmeSnippets.CodeBlock("A single-page app, with the JavaScript client", "js");
        var root = BuiltClient.StaticRoot(new Dictionary<string, string>
        {
            ["index.html"] = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>app</title><script type="module" src="/app.js"></script></head><body></body></html>""",
            ["app.js"] = snippet,
        });
        var data = Directory.CreateTempSubdirectory("portcullis-readme-client-").FullName;
        var port = FreePort.Next();
        try
        {
            await using var idp = await TestIdp.StartAsync([$"http://localhost:{port}"]);
            await using var upstream = await RecordingUpstream.StartAsync();
            var settings = GatewayHost.DefaultSettings(port, idp, data);
            settings["Portcullis:Frontend:StaticRoot"] = root;
            settings["Portcullis:Apis:orders:Path"] = "/api/orders";
            settings["Portcullis:Apis:orders:Upstream"] = upstream.Url;
            await using var gateway = await GatewayHost.StartAsync(settings, port, data);
            var (playwright, browser) = await Chromium.LaunchAsync();
            using var _ = playwright;
            await using var __ = browser;
            var page = await browser.NewPageAsync();
            page.SetDefaultTimeout(30_000);

            // Signed out: the snippet's login() sends the browser to the provider.
            await page.GotoAsync(gateway.Origin + "/");
            await page.WaitForURLAsync(url => url.StartsWith(idp.Issuer, StringComparison.Ordinal));
            await page.FillAsync("#username", "alice");
            await page.FillAsync("#password", TestIdp.Password);
            await page.ClickAsync("#login");

            await Assertions.Expect(page.Locator("body")).ToHaveTextAsync("""Alice Example: {"path":"/api/orders"}""", new() { Timeout = 30_000 });
            Assert.Equal(gateway.Origin + "/", page.Url);
            var call = Assert.Single(upstream.Requests);
            Assert.StartsWith("Bearer ", call.Headers["Authorization"], StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
            Directory.Delete(data, recursive: true);
        }
    }
}
