using System.Collections.Concurrent;
using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.ScaleOut;

/// <summary>The shared store restarts while the gateway serves traffic (issue 7): 503 while it is down, nothing lost.</summary>
[Collection(RunsAloneCollection.Name)]
public sealed class StoreRestartTests
{
    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task RequestsGet503WhileTheStoreIsDownAndSucceedAfterwardsWithNothingLost(string storeKind)
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var storeSettings = await GatewayCluster.StoreSettingsAsync(storeKind);
        await using var stack = await TestStack.StartAsync(adjust: settings =>
        {
            TestStack.OrdersRoute(upstream.Url)(settings);
            foreach (var (key, value) in storeSettings)
            {
                settings[key] = value;
            }
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, await GatewayCluster.CallAsync(http, stack.Origin, cookie, "before"));

        var statuses = new ConcurrentQueue<HttpStatusCode>();
        using var stop = new CancellationTokenSource();
        var traffic = Task.Run(async () =>
        {
            for (var i = 0; i < 5000 && !stop.IsCancellationRequested; i++)
            {
                statuses.Enqueue(await GatewayCluster.CallAsync(http, stack.Origin, cookie, $"during-{i}"));
                await Task.Delay(10); // real: paces traffic against a real store server that is being stopped and started
            }
        });

        await TestServices.RunAsync($"stop-{storeKind}");
        var down = await browser.GetAsync($"{stack.Origin}/api/orders/while-down", BrowserClient.Csrf);
        var userWhileDown = await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        await Task.Delay(500); // real: the store server process stays down for a while under traffic
        await TestServices.RunAsync($"start-{storeKind}");
        await Eventually.Until(() => GatewayCluster.CallAsync(http, stack.Origin, cookie, "back"), status => status == HttpStatusCode.OK, "the store to be back");
        await Task.Delay(300); // real: traffic keeps flowing for a while after the store server is back
        await stop.CancelAsync();
        await traffic;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
        Assert.Contains("\"error\":\"store_unavailable\"", down.Body);
        Assert.True(down.Headers.ContainsKey("Retry-After"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, userWhileDown.Status); // not 401: the session is not ended
        Assert.Contains(browser.CookiesFor("localhost"), c => c.Key == "__Host-portcullis" && c.Value == cookie);
        Assert.All(statuses, status => Assert.True(status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"got {status}"));
        Assert.Contains(HttpStatusCode.ServiceUnavailable, statuses);
        Assert.Equal(HttpStatusCode.OK, statuses.Last());

        // Nothing was lost: the same cookie works, the user is still signed in, the grant still honoured by the provider.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        var issued = (await stack.Idp.TokensAsync()).Single();
        Assert.True(await stack.Idp.IsActiveAsync(issued.RefreshToken!));
        Assert.Equal($"Bearer {issued.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.DoesNotContain(cookie, stack.Gateway.Logs.All);
    }
}
