using System.Net;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Sessions;
using Portcullis.Tests.Infrastructure;
using Portcullis.Vault;
using Xunit.Abstractions;

namespace Portcullis.Tests.Sessions;

/// <summary>
/// ADR 0033 review fixes, as attacks on one stateless gateway: login transaction cookies flooded by repeated logins stay
/// bounded; a refresh cookie planted by a sibling subdomain (same name, another value) neither blocks the refresh nor
/// ends the session; a copy of the cookies from before a refresh, replayed after logout, no longer receives the tokens
/// that refresh cached. And the sliding decision: without a known access-token expiry a cookie is not slid.
/// </summary>
public sealed class StatelessHardeningTests(ITestOutputHelper output)
{
    private const string Cookie = "__Host-portcullis";
    private const string RefreshCookie = StatelessSessions.RefreshCookieName;
    private const string TxPrefix = "__Host-portcullis-tx-";

    [Fact]
    public void ACookieIsSlidOnlyWhileItsAccessTokenIsKnownToBeAlive()
    {
        var now = DateTimeOffset.UtcNow;
        Assert.False(StatelessSessions.Slides(new TokenSet("at", null, null, null, null), now)); // no expires_in: never slid
        Assert.False(StatelessSessions.Slides(new TokenSet("at", null, null, now, null), now));
        Assert.True(StatelessSessions.Slides(new TokenSet("at", null, null, now.AddSeconds(1), null), now));
    }

    [Fact]
    public async Task FloodedLoginsPlantedRefreshCookiesAndAReplayAfterLogoutAreRefused()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 6, clock: clock, adjust: s =>
        {
            StatelessSessionTests.Stateless(upstream.Url)(s);
            s["Portcullis:Refresh:Skew"] = "00:00:01";
        });
        using var browser = new BrowserClient();

        // 25 logins with the longest returnUrl, none completed: the browser keeps at most 3 transaction cookies and its
        // Cookie header stays under 8 KB; the newest login still completes.
        var returnUrl = "/" + new string('a', 2047);
        for (var i = 0; i < 25; i++)
        {
            var started = await browser.GetAsync($"{stack.Origin}/bff/login?returnUrl={Uri.EscapeDataString(returnUrl)}");
            Assert.True(started.IsRedirect, started.Everything);
            var jar = browser.CookiesFor("localhost");
            // Chunks (nameC1, nameC2) are parts of one transaction cookie: only the names themselves are counted.
            Assert.InRange(jar.Keys.Count(k => k.StartsWith(TxPrefix, StringComparison.Ordinal) && k.Length == TxPrefix.Length + 16), 1, StatelessLoginTransactions.MaxCookies);
            Assert.True(Header(browser).Length < 8192, $"{Header(browser).Length} characters");
        }

        output.WriteLine($"Cookie header after 25 logins: {Header(browser).Length} characters");
        var callback = await browser.GetAsync(await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login?returnUrl={Uri.EscapeDataString(returnUrl)}", "alice"));
        Assert.Contains(callback.SetCookies, c => c.StartsWith(Cookie + "=", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
        var login = Header(browser);

        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false });

        // The access token has expired. A planted refresh cookie instead of the genuine one: 401, nothing expired, nothing asked.
        clock.Advance(TimeSpan.FromSeconds(6.5));
        var planted = "x" + CookieOf(login, RefreshCookie)[1..];
        var withoutGenuine = login.Replace(CookieOf(login, RefreshCookie), planted);
        var refused = await SendAsync(http, $"{stack.Origin}/api/orders/planted", withoutGenuine);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        Assert.Contains("\"error\":\"reauthentication_required\"", refused.Body);
        Assert.Empty(refused.SetCookies); // the session cookie is not deleted by a cookie someone else planted
        Assert.Equal(0, await RefreshesAsync(stack));

        // The planted one beside the genuine one, in either order: the genuine one is found and the refresh happens.
        var first = await SendAsync(http, $"{stack.Origin}/api/orders/planted-first", $"{RefreshCookie}={planted}; {login}");
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(1, await RefreshesAsync(stack));
        var beforeSecondRefresh = Merge(login, first.SetCookies);
        clock.Advance(TimeSpan.FromSeconds(6));
        var second = await SendAsync(http, $"{stack.Origin}/api/orders/planted-last", $"{beforeSecondRefresh}; {RefreshCookie}={planted}");
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(2, await RefreshesAsync(stack));
        var refreshed = (await stack.Idp.TokensAsync()).Last(t => t.GrantType == "refresh_token");
        Assert.Equal($"Bearer {refreshed.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);

        // Logout within the 30 s a refresh result is kept; then the copy from before that refresh is replayed: it must not
        // receive the cached (now revoked) tokens. The provider is asked and refuses the spent refresh token.
        var logout = await SendAsync(http, $"{stack.Origin}/bff/logout", Merge(beforeSecondRefresh, second.SetCookies), HttpMethod.Post);
        Assert.Equal(HttpStatusCode.OK, logout.Status);
        var forwarded = upstream.Requests.Count;
        var replayed = await SendAsync(http, $"{stack.Origin}/api/orders/replayed", beforeSecondRefresh);
        Assert.Equal(HttpStatusCode.Unauthorized, replayed.Status);
        Assert.Contains("\"error\":\"reauthentication_required\"", replayed.Body);
        Assert.Equal(forwarded, upstream.Requests.Count);
        Assert.DoesNotContain(replayed.SetCookies, c => c.StartsWith(Cookie + "=", StringComparison.Ordinal) && !c.StartsWith(Cookie + "=;", StringComparison.Ordinal));
    }

    private static async Task<int> RefreshesAsync(TestStack stack) =>
        (await stack.Idp.EventsAsync("token")).Count(e => e.GetProperty("grant_type").GetString() == "refresh_token" && e.GetProperty("outcome").GetString() == "success");

    private static string Header(BrowserClient browser) => string.Join("; ", browser.CookiesFor("localhost").Select(c => $"{c.Key}={c.Value}"));

    private static string CookieOf(string header, string name) =>
        header.Split("; ").Select(p => p.Split('=', 2)).First(p => p[0] == name)[1];

    private static string Merge(string header, string[] setCookies)
    {
        var jar = header.Split("; ").Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        foreach (var set in setCookies)
        {
            var pair = set.Split(';')[0].Split('=', 2);
            jar[pair[0]] = pair[1];
        }

        return string.Join("; ", jar.Select(c => $"{c.Key}={c.Value}"));
    }

    private static async Task<(HttpStatusCode Status, string Body, string[] SetCookies)> SendAsync(HttpClient http, string url, string cookies, HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, url);
        request.Headers.Add("Cookie", cookies);
        request.Headers.Add("X-CSRF", "1");
        using var response = await http.SendAsync(request);
        var setCookies = response.Headers.TryGetValues("Set-Cookie", out var values) ? values.ToArray() : [];
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), setCookies);
    }
}
