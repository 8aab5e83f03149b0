using System.Net;
using System.Text.Json;
using Portcullis.Demo;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Demo;

/// <summary>The same login over real HTTP, against the demo's OpenIddict provider, through to the sample API.</summary>
public sealed class DemoStackTests
{
    [Fact]
    public async Task LoginAgainstTheDemoProviderThenCallTheApiThroughTheGatewayThenLogout()
    {
        await using var demo = await DemoStack.StartAsync(new DemoStackOptions
        {
            GatewayPort = 0,
            ProviderPort = 0,
            ApiPort = 0,
            DataDirectory = Directory.CreateTempSubdirectory("portcullis-demo-test-").FullName,
        });
        var origin = demo.GatewayUrl.GetLeftPart(UriPartial.Authority);
        using var browser = new BrowserClient();

        var landing = await browser.LoginAsync(origin, "alice", "/", demo.Users["alice"]);
        Assert.Equal(HttpStatusCode.OK, landing.Status);

        var user = await browser.GetAsync($"{origin}/bff/user", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, user.Status);
        using var userJson = JsonDocument.Parse(user.Body);
        var name = userJson.RootElement.GetProperty("claims").GetProperty("name").GetString();
        Assert.False(string.IsNullOrEmpty(name));

        var api = await browser.GetAsync($"{origin}/api/whoami", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, api.Status);
        using var apiJson = JsonDocument.Parse(api.Body);
        Assert.Equal(userJson.RootElement.GetProperty("sub").GetString(), apiJson.RootElement.GetProperty("subject").GetString());

        Assert.Equal(HttpStatusCode.Forbidden, (await browser.GetAsync($"{origin}/api/whoami")).Status);

        var logout = await browser.SendAsync(HttpMethod.Post, $"{origin}/bff/logout", null, BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, logout.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{origin}/api/whoami", BrowserClient.Csrf)).Status);
    }
}
