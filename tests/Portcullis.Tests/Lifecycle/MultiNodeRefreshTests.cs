using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Lifecycle;

/// <summary>Two gateway processes sharing one store: the refresh is single-flight across them (DESIGN.md invariant 6).</summary>
public sealed class MultiNodeRefreshTests
{
    [Fact]
    public async Task TwoGatewayProcessesSharingOneStoreRefreshExactlyOnceAndBothKeepWorking()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var (portA, portB) = (FreePort.Next(), FreePort.Next());
        var dataDirectory = Directory.CreateTempSubdirectory("portcullis-nodes-").FullName;
        // The first access token lives 6 s and is refreshed 1 s before expiry; the refreshed one lives 2 minutes, far
        // longer than the storm takes on any machine, so a second refresh would be a real double one. (With 6 s for
        // both, a storm slowed past 5 s by a loaded CI machine made a second, due refresh; ci32.)
        await using var idp = await TestIdp.StartAsync([$"http://localhost:{portA}"], accessTokenTtl: 6, refreshedAccessTokenTtl: 120);
        var settings = GatewayHost.DefaultSettings(portA, idp, dataDirectory); // both nodes answer for one public origin
        settings["Portcullis:Refresh:Skew"] = "00:00:01";
        TestStack.OrdersRoute(upstream.Url)(settings);

        await using var nodeA = await GatewayProcess.StartAsync(settings, portA, dataDirectory);
        using var browser = new BrowserClient();
        await browser.LoginAsync(nodeA.Origin); // creates the shared key ring before the second node starts
        await using var nodeB = await GatewayProcess.StartAsync(settings, portB, dataDirectory);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        Assert.Equal(HttpStatusCode.OK, await CallAsync(nodeB.Origin, cookie, "warm"));

        // Real: both nodes are separate gateway processes on the system clock.
        await Task.Delay(TimeSpan.FromSeconds(5.3));
        var statuses = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => CallAsync(i % 2 == 0 ? nodeA.Origin : nodeB.Origin, cookie, $"storm-{i}")));

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        var refreshes = (await idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "refresh_token").ToArray();
        var refresh = Assert.Single(refreshes);
        Assert.Equal("success", refresh.GetProperty("outcome").GetString());

        // Both nodes keep working with the one rotated grant, which the provider still honours.
        Assert.Equal(HttpStatusCode.OK, await CallAsync(nodeA.Origin, cookie, "after-a"));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(nodeB.Origin, cookie, "after-b"));
        var issued = (await idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.True(await idp.IsActiveAsync(issued.RefreshToken!));
        Assert.All(upstream.Requests.Skip(1), r => Assert.Equal($"Bearer {issued.AccessToken}", r.Headers["Authorization"]));

        var logs = nodeA.Output + nodeB.Output;
        Assert.All(await idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, logs));
        Assert.DoesNotContain(cookie, logs);
    }

    private static async Task<HttpStatusCode> CallAsync(string origin, string cookie, string path)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{origin}/api/orders/{path}");
        request.Headers.Add("Cookie", $"__Host-portcullis={cookie}");
        request.Headers.Add("X-CSRF", "1");
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }
}
