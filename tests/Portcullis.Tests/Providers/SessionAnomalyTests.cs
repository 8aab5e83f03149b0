using System.Net;
using Portcullis.Sessions;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Providers;

/// <summary>Seed 000's anomaly checks: a session used by another browser or from another network.</summary>
public sealed class SessionAnomalyTests
{
    private static readonly Dictionary<string, string> OtherBrowser = new() { ["X-CSRF"] = "1", ["User-Agent"] = "Mozilla/5.0 (Attacker) Other/1.0" };

    [Fact]
    public async Task WithEndAChangedUserAgentEndsTheSession()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true, adjust: s => s["Portcullis:Session:Anomalies:UserAgentChange"] = "end");
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "github", "octocat");
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);

        var stolen = await browser.GetAsync($"{stack.Origin}/bff/user", OtherBrowser);

        Assert.Equal(HttpStatusCode.Unauthorized, stolen.Status);
        Assert.Contains("\"error\":\"unauthenticated\"", stolen.Body);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM sessions"));
        // Ended as a logout ends it: its grant goes at once, not at the next sweep.
        Assert.Empty(await stack.RowsAsync("SELECT * FROM grants"));
        // Ended for good: the original browser is signed out too.
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Contains("[3004]", stack.Gateway.Logs.All);
    }

    [Fact]
    public async Task WithLogAChangedUserAgentIsOnlyLoggedAndOnlyOnceHoweverManyRequestsCarryIt()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await ProviderStack.StartAsync(gitHub: true, adjust: TestStack.OrdersRoute(upstream.Url));
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "github", "octocat");
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];

        var user = await browser.GetAsync($"{stack.Origin}/bff/user", OtherBrowser);
        var api = await browser.GetAsync($"{stack.Origin}/api/orders", OtherBrowser);
        // Issue 17 item 12: a load run with another agent once wrote a warning per request (172,006 lines).
        using var http = new HttpClient();
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 10_000), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, token) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{stack.Origin}/bff/user");
            request.Headers.Add("Cookie", $"__Host-portcullis={cookie}");
            foreach (var (name, value) in OtherBrowser)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await http.SendAsync(request, token);
            statuses.Add(response.StatusCode);
        });

        Assert.Equal(HttpStatusCode.OK, user.Status);
        Assert.Equal(HttpStatusCode.OK, api.Status);
        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Single(await stack.RowsAsync("SELECT * FROM sessions"));
        var line = Assert.Single(stack.Gateway.Logs.Lines, l => l.Contains("[3004]", StringComparison.Ordinal));
        Assert.Contains("the user agent", line);
        Assert.Contains("reaction: log", line);
        Assert.DoesNotContain(cookie, line);
    }

    [Fact]
    public async Task WithReauthenticateTheApiGetsReauthenticationRequired()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await ProviderStack.StartAsync(gitHub: true, adjust: s =>
        {
            s["Portcullis:Session:Anomalies:UserAgentChange"] = "reauthenticate";
            TestStack.OrdersRoute(upstream.Url)(s);
        });
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "github", "octocat");

        var api = await browser.GetAsync($"{stack.Origin}/api/orders", OtherBrowser);

        Assert.Equal(HttpStatusCode.Unauthorized, api.Status);
        Assert.Contains("\"error\":\"reauthentication_required\"", api.Body);
        Assert.Empty(upstream.Requests);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM sessions"));
    }

    [Fact]
    public async Task WithEndAChangedClientNetworkEndsTheSession()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true, adjust: s => s["Portcullis:Session:Anomalies:ClientNetworkChange"] = "end");
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "github", "octocat");
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];

        // The gateway listens on both loopbacks: 127.0.0.1 and ::1 are different networks, so one of them is not the login's.
        using var http = new HttpClient();
        var statuses = new List<HttpStatusCode>();
        foreach (var host in new[] { "127.0.0.1", "[::1]" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{host}:{stack.Gateway.Port}/bff/user");
            request.Headers.Add("Cookie", $"__Host-portcullis={cookie}");
            request.Headers.Add("X-CSRF", "1");
            using var response = await http.SendAsync(request);
            statuses.Add(response.StatusCode);
        }

        Assert.Contains(HttpStatusCode.Unauthorized, statuses);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM sessions"));
        Assert.Contains("the client network", stack.Gateway.Logs.All);
    }

    [Theory]
    [InlineData("203.0.113.77", 24, "203.0.113.0/24")]
    [InlineData("203.0.113.77", 16, "203.0.0.0/16")]
    [InlineData("::ffff:198.51.100.9", 24, "198.51.100.0/24")]
    [InlineData("2001:db8:1:2:3:4:5:6", 24, "2001:db8:1:2::/64")]
    [InlineData("203.0.113.77", 0, "0.0.0.0/0")]
    [InlineData("203.0.113.77", 32, "203.0.113.77/32")]
    public void AnAddressBelongsToItsNetworkPrefix(string address, int ipv4Prefix, string expected)
    {
        Assert.Equal(expected, ClientNetwork.Of(System.Net.IPAddress.Parse(address), ipv4Prefix, 64));
        Assert.True(ClientNetwork.Contains(expected, System.Net.IPAddress.Parse(address), ipv4Prefix, 64));
    }

    [Theory]
    [InlineData("203.0.113.0/24", "203.0.113.254", true)]
    [InlineData("203.0.113.0/24", "::ffff:203.0.113.1", true)]   // the same client through a dual-stack socket
    [InlineData("203.0.113.0/24", "203.0.114.1", false)]
    [InlineData("203.0.113.0/24", "::ffff:203.0.114.1", false)]
    [InlineData("203.0.113.0/24", "2001:db8::1", false)]
    [InlineData("2001:db8:1:2::/64", "2001:db8:1:2:ffff::1", true)]
    [InlineData("2001:db8:1:2::/64", "2001:db8:1:3::1", false)]
    [InlineData("203.0.113.0/16", "203.0.113.1", false)]         // written under another prefix length
    [InlineData("fe80::/64", "fe80::1%2", true)]                  // a scope is no part of the network
    public void TheNetworkCheckAgreesWithTheTextWrittenAtLogin(string network, string address, bool contains) =>
        Assert.Equal(contains, ClientNetwork.Contains(network, System.Net.IPAddress.Parse(address), 24, 64));
}
