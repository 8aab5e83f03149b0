using System.Net;
using Portcullis.Demo;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Demo;

/// <summary>
/// The demo single-page app runs on the JavaScript client (issue 21 item 5). `dotnet run --project samples/Demo` needs
/// only the .NET SDK, so the demo keeps a copy of the built client in its wwwroot; these tests keep that copy the build.
/// </summary>
public sealed class DemoClientTests
{
    private static readonly string Built = Path.Combine(RepositoryPaths.Root, "clients", "js", "dist", "portcullis.js");
    private static readonly string DemoCopy = Path.Combine(RepositoryPaths.Root, "samples", "Demo", "wwwroot", "portcullis.js");

    [Fact]
    public void TheDemosCopyOfTheClientIsWhatTscBuildsFromClientsJs()
    {
        Assert.True(File.Exists(Built), $"{Built} is missing: ./test.sh builds it (or `npm ci && npm run build` in clients/js).");
        Assert.True(
            File.ReadAllText(Built) == File.ReadAllText(DemoCopy),
            $"{DemoCopy} is not the current build of clients/js: run `npm run demo` in clients/js and commit the copy.");
    }

    [Fact]
    public async Task TheDemoServesTheClientAsAModuleAndItsAppImportsIt()
    {
        await using var demo = await DemoStack.StartAsync(new DemoStackOptions
        {
            GatewayPort = 0,
            ProviderPort = 0,
            ApiPort = 0,
            DataDirectory = Directory.CreateTempSubdirectory("portcullis-demo-client-").FullName,
        });
        var origin = demo.GatewayUrl.GetLeftPart(UriPartial.Authority);
        using var http = new HttpClient();

        using var client = await http.GetAsync($"{origin}/portcullis.js");
        using var app = await http.GetAsync($"{origin}/app.js");

        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        Assert.Equal("text/javascript", client.Content.Headers.ContentType?.MediaType); // a module script needs a JavaScript type
        Assert.Equal(File.ReadAllText(DemoCopy), await client.Content.ReadAsStringAsync());
        Assert.Contains("from '/portcullis.js'", await app.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("type=\"module\" src=\"/app.js\"", await http.GetStringAsync($"{origin}/"), StringComparison.Ordinal);
    }
}
