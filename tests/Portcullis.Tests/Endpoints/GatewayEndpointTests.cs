using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Endpoints;

public sealed class GatewayEndpointTests
{
    [Fact]
    public async Task HealthReportsTheStore()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();

        var healthy = await browser.GetAsync($"{stack.Origin}/healthz");
        Assert.Equal(HttpStatusCode.OK, healthy.Status);
        Assert.Contains("\"store\":\"healthy\"", healthy.Body);
    }

    [Fact]
    public async Task ProvidersListsNamesAndDisplayNamesOnly()
    {
        await using var stack = await TestStack.StartAsync(adjust: s => s["Portcullis:Providers:main:DisplayName"] = "Main login");
        using var browser = new BrowserClient();

        var response = await browser.GetAsync($"{stack.Origin}/bff/providers", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("[{\"name\":\"main\",\"displayName\":\"Main login\"}]", response.Body);
    }

    [Fact]
    public async Task GatewayResponsesCarrySecurityHeadersAndUnknownBffPathsAreJson404()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();

        var response = await browser.GetAsync($"{stack.Origin}/bff/nothing-here");

        Assert.Equal(HttpStatusCode.NotFound, response.Status);
        Assert.StartsWith("application/json", response.Headers["Content-Type"]);
        Assert.Equal("nosniff", response.Headers["X-Content-Type-Options"]);
        Assert.Equal("DENY", response.Headers["X-Frame-Options"]);
        Assert.Contains("frame-ancestors 'none'", response.Headers["Content-Security-Policy"]);
        Assert.True(response.Headers.ContainsKey("Referrer-Policy"));
        var login = await browser.GetAsync($"{stack.Origin}/bff/login");
        Assert.Equal("no-referrer", login.Headers["Referrer-Policy"]);
    }

    [Fact]
    public async Task TheShippedAppsettingsApplyWhateverTheWorkingDirectory()
    {
        // Started from its data folder, not its build folder: the appsettings.json beside the binary must still apply,
        // so the framework's per-request Information lines (Microsoft.AspNetCore at Warning there) stay out of the log.
        var dataDirectory = Directory.CreateTempSubdirectory("portcullis-cwd-").FullName;
        await using var idp = await TestIdp.StartAsync(["http://localhost:1"]);
        var port = FreePort.Next();
        await using var gateway = await GatewayProcess.StartAsync(GatewayHost.DefaultSettings(port, idp, dataDirectory), port, dataDirectory);
        using var browser = new BrowserClient();

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{gateway.Origin}/healthz")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{gateway.Origin}/bff/user", BrowserClient.Csrf)).Status);

        Assert.DoesNotContain("Request starting", gateway.Output);
        Assert.DoesNotContain("Executing endpoint", gateway.Output);
    }
}
