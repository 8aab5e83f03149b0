using System.Net;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Sessions;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Proxy;
using Portcullis.Tokens;
using Portcullis.Vault;
using Xunit.Abstractions;

namespace Portcullis.Tests.Sessions;

/// <summary>
/// Issue 15 item 2, ADR 0033: stateless sessions against the real oidc-provider, one gateway for the whole story (suite
/// time is tight). Nothing but the key ring is written; the tokens travel sealed in the browser's cookies; a refresh
/// storm costs one token request; a restart keeps the cookies valid; forged, tampered and truncated cookies get 401
/// and change nothing; logout revokes at the provider; a copy kept from before logout is bounded by the maximum cookie
/// age. Chromium: <c>StatelessAppFlowTests</c>.
/// </summary>
public sealed class StatelessSessionTests(ITestOutputHelper output)
{
    private const string Cookie = "__Host-portcullis";
    private const string RefreshCookie = StatelessSessions.RefreshCookieName;

    internal static Action<Dictionary<string, string?>> Stateless(string upstreamUrl) => settings =>
    {
        TestStack.OrdersRoute(upstreamUrl)(settings);
        settings["Portcullis:Session:Mode"] = "stateless";
        // No store configured: only the key ring, as files in DataDirectory (the test's folder).
        var dataSource = settings["Portcullis:Store:ConnectionString"]!["Data Source=".Length..];
        settings["Portcullis:DataDirectory"] = Path.GetDirectoryName(dataSource);
        settings.Remove("Portcullis:Store:Kind");
        settings.Remove("Portcullis:Store:ConnectionString");
    };

    /// <summary>
    /// An answer that rewrites the stateless cookies carries the user's sealed tokens in <c>Set-Cookie</c>: no cache may
    /// keep it for anyone else, whatever the upstream's own <c>Cache-Control</c> says; an answer that writes no cookie
    /// keeps the upstream's (review of 2026-12-08: a slid cookie went out under <c>public, max-age=600</c>).
    /// </summary>
    [Fact]
    public async Task AnAnswerThatRewritesTheCookiesIsNeverCacheableWhateverTheUpstreamSays()
    {
        await using var upstream = await RecordingUpstream.StartAsync(new Dictionary<string, string> { ["Cache-Control"] = "public, max-age=600" });
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 600, clock: clock, adjust: s =>
        {
            Stateless(upstream.Url)(s);
            s["Portcullis:Session:MaxCookieAge"] = "00:05:00";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        var untouched = await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf);
        clock.Advance(TimeSpan.FromMinutes(2));
        var slid = await browser.GetAsync($"{stack.Origin}/api/orders/2", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, untouched.Status);
        Assert.Empty(untouched.SetCookies);
        Assert.Equal("public, max-age=600", untouched.Headers["Cache-Control"]);
        Assert.Equal(HttpStatusCode.OK, slid.Status);
        Assert.Contains(slid.SetCookies, c => c.StartsWith(Cookie + "=", StringComparison.Ordinal) && !c.StartsWith(Cookie + "=;", StringComparison.Ordinal));
        Assert.Equal("no-store", slid.Headers["Cache-Control"]);
    }

    [Fact]
    public async Task LoginApiRefreshStormRestartForgeriesRefusalsLogoutAndAReplayedCopyBehaveAsDocumented()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 6, clock: clock, adjust: s =>
        {
            Stateless(upstream.Url)(s);
            s["Portcullis:Refresh:Skew"] = "00:00:01";
            s["Portcullis:Session:MaxCookieAge"] = "00:05:00";
            // A route whose path starts with another's: logout must expire the refresh cookie on both (review of
            // 2026-12-08: expiring /api/orders after /api/orders-archive dropped the latter's expiry).
            Routes.Add(s, "archive", "/api/orders-archive", upstream.Url);
        }, configure: CapturedLogs.IncludeDebug);
        using var browser = new BrowserClient();
        var callbackUrl = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login?returnUrl=%2F", "alice");
        var beforeCallback = Header(browser);
        Assert.Contains("__Host-portcullis-tx-", beforeCallback); // the login transaction rides in the browser
        var callback = await browser.GetAsync(callbackUrl);
        Assert.Equal(HttpStatusCode.OK, callback.Status);
        Assert.DoesNotContain(browser.CookiesFor("localhost").Keys, name => name.StartsWith("__Host-portcullis-tx-", StringComparison.Ordinal));

        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false });

        // The cookies: sealed, HttpOnly, Secure, SameSite=Strict; the refresh token only on the API route and logout.
        var sessionSet = Assert.Single(callback.SetCookies, c => c.StartsWith(Cookie + "=", StringComparison.Ordinal));
        Assert.Contains("path=/;", sessionSet + ";", StringComparison.OrdinalIgnoreCase);
        var refreshSets = callback.SetCookies.Where(c => c.StartsWith(RefreshCookie + "=", StringComparison.Ordinal)).ToList();
        Assert.Equal(["/api/orders", "/api/orders-archive", "/bff/logout"], refreshSets.Select(PathOf).Order());
        foreach (var set in refreshSets.Append(sessionSet))
        {
            Assert.Contains("secure", set, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("httponly", set, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("samesite=strict", set, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("domain=", set, StringComparison.OrdinalIgnoreCase);
            Assert.True(set.Length < 4096, $"{set.Length} characters");
        }

        var total = sessionSet.Length + refreshSets.Sum(c => c.Length);
        output.WriteLine($"session cookie {sessionSet.Length}, refresh cookie {refreshSets[0].Length} (x{refreshSets.Count}), all Set-Cookie {total} characters");
        Assert.True(total < 8192, $"{total} characters");

        var user = await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, user.Status);
        Assert.Contains("alice", user.Body);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
        var issued = (await stack.Idp.TokensAsync()).Single();
        Assert.Equal($"Bearer {issued.AccessToken}", Assert.Single(upstream.Requests).Headers["Authorization"]);
        var loginCookies = Header(browser);

        // Another user's genuine refresh cookie beside this session's cookie is ignored: never used to refresh it.
        using var bob = new BrowserClient();
        await bob.LoginAsync(stack.Origin, "bob");
        clock.Advance(TimeSpan.FromSeconds(5.3));
        var mixed = loginCookies.Replace(CookieOf(loginCookies, RefreshCookie), bob.CookiesFor("localhost")[RefreshCookie]);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/mixed", mixed)).Status);
        Assert.Equal($"Bearer {issued.AccessToken}", upstream.Requests.Last().Headers["Authorization"]); // still valid: used as it is
        Assert.Equal(0, await RefreshesAsync(stack));
        Assert.True(stack.Gateway.Logs.CountOf(6006) > 0); // StatelessRefreshCookieRefused: another session's cookie, at will
        Assert.Empty(stack.Gateway.Logs.AboveDebug(6006));

        // A refresh storm: one token request; every answer (stragglers with the old cookie too) carries the new cookies.
        var storm = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/storm-{i}", loginCookies)));
        var stragglers = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/late-{i}", loginCookies)));
        Assert.All(storm.Concat(stragglers), r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.All(storm.Concat(stragglers), r => Assert.Contains(r.SetCookies, c => c.StartsWith(Cookie + "=", StringComparison.Ordinal)));
        var refreshed = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.All(upstream.Requests.Skip(2), r => Assert.Equal($"Bearer {refreshed.AccessToken}", r.Headers["Authorization"]));
        Assert.Equal(1, await RefreshesAsync(stack));
        var current = Merge(loginCookies, storm[^1].SetCookies);

        // A restart forgets everything but the key ring: the cookies still open; no new refresh is needed.
        await stack.RestartGatewayAsync(CapturedLogs.IncludeDebug);
        var afterRestart = await SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/after-restart", current);
        Assert.Equal(HttpStatusCode.OK, afterRestart.Status);
        Assert.Equal($"Bearer {refreshed.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.Equal(1, await RefreshesAsync(stack));

        // Forged, tampered, truncated, moved and re-chunked cookies: 401, nothing forwarded, nothing set, nothing asked.
        var sealedValue = CookieOf(current, Cookie);
        var forged = new StatelessCookieCodec(ForeignKeyRing()).Seal(Cookie,
            new StatelessSessionPayload(new SessionData("mallory", "g", "mallory", [], null), new TokenSet("at", null, null, null, null), clock.GetUtcNow(), clock.GetUtcNow().AddHours(1)),
            StatelessJsonContext.Default.StatelessSessionPayload);
        var half = sealedValue.Length / 2;
        string[] attacks =
        [
            $"{Cookie}={forged}",
            $"{Cookie}={sealedValue[..^1]}",
            $"{Cookie}={sealedValue[..20]}{(sealedValue[20] == 'A' ? 'B' : 'A')}{sealedValue[21..]}",
            $"{Cookie}={CookieOf(current, RefreshCookie)}",
            $"{Cookie}=chunks-2; {Cookie}C1={sealedValue[half..]}; {Cookie}C2={sealedValue[..half]}",
            $"{Cookie}=chunks-2; {Cookie}C1={sealedValue[..half]}",
            $"{Cookie}=chunks-3; {Cookie}C1={sealedValue[..half]}; {Cookie}C2={sealedValue[half..]}",
        ];
        var forwarded = upstream.Requests.Count;
        foreach (var attack in attacks)
        {
            foreach (var (method, path) in new[] { (HttpMethod.Get, "/bff/user"), (HttpMethod.Get, "/api/orders/1") })
            {
                var refused = await SendAsync(http, method, stack.Origin + path, attack + "; " + RefreshCookie + "=" + CookieOf(current, RefreshCookie));
                Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
                Assert.Contains("\"error\":\"unauthenticated\"", refused.Body);
                Assert.Empty(refused.SetCookies);
            }
        }

        Assert.Equal(forwarded, upstream.Requests.Count);
        Assert.Equal(3, (await stack.Idp.TokensAsync()).Length); // alice's login, bob's login, alice's one refresh
        // StatelessCookieRefused, at Debug only: anyone can send a garbage cookie on every request (SECURITY.md item 42).
        Assert.True(stack.Gateway.Logs.CountOf(6004) > 0);
        Assert.Empty(stack.Gateway.Logs.AboveDebug(6004));
        // The same value in correctly ordered chunks opens: the chunking is the codec's, not a way around the seal.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, $"{stack.Origin}/bff/user", $"{Cookie}=chunks-2; {Cookie}C1={sealedValue[..half]}; {Cookie}C2={sealedValue[half..]}")).Status);

        // Features that need server state answer 400 naming the mode; nothing is ended by them.
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "/bff/sessions"), (HttpMethod.Delete, "/bff/sessions/any"), (HttpMethod.Post, "/bff/logout?everywhere=true"),
            (HttpMethod.Post, "/bff/link?provider=main"), (HttpMethod.Post, "/bff/backchannel-logout/main"),
        })
        {
            var refused = await SendAsync(http, method, stack.Origin + path, current);
            Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
            Assert.Contains("\"error\":\"not_supported\"", refused.Body);
            Assert.Contains("Portcullis:Session:Mode", refused.Body);
            Assert.Empty(refused.SetCookies);
        }

        Assert.True(stack.Gateway.Logs.CountOf(6009) > 0); // StatelessFeatureRefused
        Assert.Empty(stack.Gateway.Logs.AboveDebug(6009));

        var worker = await stack.Gateway.Get<IUserTokens>().GetForUserAsync("sl-anyone", provider: null, actor: "nightly-report");
        Assert.Equal("user_not_present", worker.Error);
        Assert.Contains("stateless", worker.Message);

        // Logout: the refresh token is revoked at the provider at once and every cookie is expired.
        var copy = current;
        var logout = await SendAsync(http, HttpMethod.Post, $"{stack.Origin}/bff/logout", current);
        Assert.Equal(HttpStatusCode.OK, logout.Status);
        Assert.False(await stack.Idp.IsActiveAsync(refreshed.RefreshToken!));
        Assert.Contains(logout.SetCookies, c => c.StartsWith(Cookie + "=;", StringComparison.Ordinal) && c.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(["/api/orders", "/api/orders-archive", "/bff/logout"], logout.SetCookies.Where(c => c.StartsWith(RefreshCookie + "=;", StringComparison.Ordinal)).Select(PathOf).Order());

        // A copy kept from before logout: usable while its access token lives (the proxy does not introspect), refused
        // for the API once it is due (the provider refuses the revoked refresh token), and gone after the maximum age.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/replayed", copy)).Status);
        clock.Advance(TimeSpan.FromSeconds(7));
        forwarded = upstream.Requests.Count;
        var dead = await SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/replayed-later", copy);
        Assert.Equal(HttpStatusCode.Unauthorized, dead.Status);
        Assert.Contains("\"error\":\"reauthentication_required\"", dead.Body);
        Assert.Equal(forwarded, upstream.Requests.Count);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, $"{stack.Origin}/bff/user", copy)).Status);
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Get, $"{stack.Origin}/bff/user", copy)).Status);
        Assert.True(stack.Gateway.Logs.CountOf(6005) > 0); // StatelessCookieExpired: a user's old cookie, sent again and again
        Assert.Empty(stack.Gateway.Logs.AboveDebug(6005));

        // The login's callback replayed with the transaction cookie it consumed (no store remembers it was used): the
        // provider refuses the redeemed code (and, per RFC 6749 §4.1.2, revokes what it issued for it, which is why this
        // comes last); with another browser's binding the transaction does not open at all. Neither signs anyone in.
        var foreignBinding = string.Join("; ", beforeCallback.Split("; ").Select(c => c.StartsWith("__Host-portcullis-login", StringComparison.Ordinal) ? c.Split('=')[0] + "=" + Portcullis.Storage.Identifiers.NewSecret() : c));
        foreach (var replay in new[] { beforeCallback, foreignBinding })
        {
            var replayed = await SendAsync(http, HttpMethod.Get, callbackUrl, replay);
            Assert.Equal(HttpStatusCode.BadRequest, replayed.Status);
            Assert.DoesNotContain(replayed.SetCookies, c => c.StartsWith(Cookie + "=", StringComparison.Ordinal) || c.StartsWith(RefreshCookie + "=", StringComparison.Ordinal));
        }

        // Nothing was written but the key ring, and no token reached the browser or a log.
        Assert.Empty(Directory.GetFiles(stack.Gateway.DataDirectory, "*.db*", SearchOption.AllDirectories));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(stack.Gateway.DataDirectory, "keys")));
        foreach (var secret in new[] { issued.AccessToken!, issued.RefreshToken!, issued.IdToken!, refreshed.AccessToken!, refreshed.RefreshToken!, sealedValue })
        {
            Assert.DoesNotContain(secret, stack.Gateway.Logs.All);
            if (secret != sealedValue)
            {
                Assert.All(browser.Responses, r => Assert.DoesNotContain(secret, r.Everything + string.Join('\n', r.SetCookies)));
            }
        }
    }

    /// <summary>
    /// DESIGN.md invariant 10 in stateless mode: while a provider holds the refresh past the request's wait, the request
    /// goes on with its still-valid access token; when the provider answers late, that answer is what the next request
    /// with the same cookies uses: no second presentation of the refresh token, nobody signed out.
    /// </summary>
    [Fact]
    public async Task AProviderHoldingARefreshAnswersLateAndTheNextRequestUsesThatAnswerWithoutPresentingTheRefreshTokenAgain()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var idpPort = FreePort.Next();
        await using var wire = FaultProxy.Start(idpPort);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(
            clock: clock,
            adjust: s =>
            {
                Stateless(upstream.Url)(s);
                s["Portcullis:Refresh:Timeout"] = "00:00:01";
            },
            idpPort: idpPort,
            issuerPort: wire.Port);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookies = Header(browser);
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false });
        clock.Advance(TimeSpan.FromSeconds(61)); // past the refresh point of the 120 s token

        wire.Fault = Fault.Hold;
        var pending = SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/during", cookies);
        await wire.WaitUntilHeldAsync();
        // The request stops waiting (past the 1.5 s wait, never near the 30 s token-request deadline); its access token
        // is still valid, so it goes on with that one (SECURITY.md item 27).
        var during = await Faults.LeaseFaultTests.UntilAnsweredAsync(clock, pending);
        Assert.Equal(HttpStatusCode.OK, during.Status);
        var login = (await stack.Idp.TokensAsync()).Single();
        Assert.Equal($"Bearer {login.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.DoesNotContain(during.SetCookies, c => c.StartsWith(RefreshCookie + "=", StringComparison.Ordinal)); // nothing rotated yet
        cookies = Merge(cookies, during.SetCookies); // as the browser keeps them

        wire.Fault = Fault.None;
        wire.ReleaseHeld();
        await Eventually.Until(() => RefreshesAsync(stack), count => count > 0, "the provider to answer the held refresh");
        var after = await Eventually.Until(
            () => SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/after", cookies), r => r.Status == HttpStatusCode.OK, "the late answer to be used");

        var refreshed = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.Equal($"Bearer {refreshed.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.Contains(after.SetCookies, c => c.StartsWith(Cookie + "=", StringComparison.Ordinal) && !c.StartsWith(Cookie + "=;", StringComparison.Ordinal));
        var current = Merge(cookies, after.SetCookies);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, $"{stack.Origin}/api/orders/next", current)).Status);
        Assert.Equal(1, await RefreshesAsync(stack)); // the spent refresh token was never presented again
        Assert.True(await stack.Idp.IsActiveAsync(refreshed.RefreshToken!)); // and the grant lives
    }

    private static IDataProtectionProvider ForeignKeyRing()
    {
        var services = new ServiceCollection();
        DataProtectionSetup.Configure(services);
        return services.BuildServiceProvider().GetRequiredService<IDataProtectionProvider>();
    }

    internal static async Task<int> RefreshesAsync(TestStack stack) =>
        (await stack.Idp.EventsAsync("token")).Count(e => e.GetProperty("grant_type").GetString() == "refresh_token");

    private static string PathOf(string setCookie) =>
        setCookie.Split(';').Select(p => p.Trim()).Single(p => p.StartsWith("path=", StringComparison.OrdinalIgnoreCase))[5..];

    internal static string Header(BrowserClient browser) => string.Join("; ", browser.CookiesFor("localhost").Select(c => $"{c.Key}={c.Value}"));

    private static string CookieOf(string header, string name) =>
        header.Split("; ").Select(p => p.Split('=', 2)).First(p => p[0] == name)[1];

    /// <summary>The cookie header after a response's <c>Set-Cookie</c>s, as a browser that ignores paths would send it.</summary>
    internal static string Merge(string header, string[] setCookies)
    {
        var jar = header.Split("; ").Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        foreach (var set in setCookies)
        {
            var pair = set.Split(';')[0].Split('=', 2);
            jar[pair[0]] = pair[1];
        }

        return string.Join("; ", jar.Select(c => $"{c.Key}={c.Value}"));
    }

    internal static async Task<(HttpStatusCode Status, string Body, string[] SetCookies)> SendAsync(HttpClient http, HttpMethod method, string url, string cookies)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Cookie", cookies);
        request.Headers.Add("X-CSRF", "1");
        using var response = await http.SendAsync(request);
        var setCookies = response.Headers.TryGetValues("Set-Cookie", out var values) ? values.ToArray() : [];
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), setCookies);
    }
}
