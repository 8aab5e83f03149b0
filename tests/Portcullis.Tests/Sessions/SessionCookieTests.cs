using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Sessions;

/// <summary>SECURITY.md items 2–3 and 6: bad cookies get 401 JSON and change nothing; JSON endpoints demand the CSRF header.</summary>
public sealed class SessionCookieTests
{
    [Fact]
    public async Task MalformedTruncatedExtendedAndRandomCookiesGet401Json()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var real = browser.CookiesFor("localhost")["__Host-portcullis"];

        string[] variants =
        [
            real[..^1],
            real + "A",
            real[..20],
            Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(real)),
            Uri.EscapeDataString(real + "=="),
            new string('A', 43),
            "x",
            "",
            "%00%ff%fe",
        ];
        foreach (var variant in variants)
        {
            using var other = new BrowserClient();
            other.CookiesFor("localhost")["__Host-portcullis"] = variant;
            var response = await other.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
            Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
            Assert.Contains("\"error\":\"unauthenticated\"", response.Body);
        }

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Theory]
    [InlineData("GET", "/bff/user")]
    [InlineData("POST", "/bff/logout")]
    public async Task JsonEndpointsWithoutTheCsrfHeaderAreRefusedAndChangeNothing(string method, string path)
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        foreach (var headers in new[] { new Dictionary<string, string>(), new() { ["X-CSRF"] = "0" }, new() { ["X-CSRF"] = "1", ["Origin"] = "https://evil.example" } })
        {
            var response = await browser.SendAsync(new HttpMethod(method), stack.Origin + path, null, headers);
            Assert.Equal(HttpStatusCode.Forbidden, response.Status);
            Assert.Contains("\"error\":\"csrf_check_failed\"", response.Body);
            Assert.Empty(response.SetCookies);
        }

        Assert.Empty(await stack.Idp.EventsAsync("revocation"));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Fact]
    public async Task CrossSiteFetchMetadataIsRefused()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        var response = await browser.GetAsync($"{stack.Origin}/bff/user", new Dictionary<string, string> { ["X-CSRF"] = "1", ["Sec-Fetch-Site"] = "cross-site" });

        Assert.Equal(HttpStatusCode.Forbidden, response.Status);
    }

    [Fact]
    public async Task SessionCookieCopiedFromTheDatabaseIsUseless()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];

        var keys = (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions")).Select(r => (string)r[0]!).ToArray();

        var stored = Assert.Single(keys);
        Assert.NotEqual(cookie, stored);
        using var thief = new BrowserClient();
        thief.CookiesFor("localhost")["__Host-portcullis"] = stored;
        Assert.Equal(HttpStatusCode.Unauthorized, (await thief.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Fact]
    public async Task IdleAndAbsoluteTimeoutsEndTheSession()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(
            adjust: s => { s["Portcullis:Session:IdleTimeout"] = "00:10:00"; s["Portcullis:Session:AbsoluteTimeout"] = "00:25:00"; },
            configure: b => Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<TimeProvider>(b.Services, clock));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        // Used every 9 minutes, the idle timeout keeps sliding...
        for (var i = 0; i < 2; i++)
        {
            clock.Advance(TimeSpan.FromMinutes(9));
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        }

        // ...but never past the absolute timeout (27 minutes > 25).
        clock.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);

        using var idle = new BrowserClient();
        await idle.LoginAsync(stack.Origin);
        clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await idle.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }
}
