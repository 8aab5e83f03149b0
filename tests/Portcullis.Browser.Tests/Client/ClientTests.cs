using System.Text.Json;
using Microsoft.Playwright;
using Portcullis.Browser.Tests.Infrastructure;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Browser.Tests.Client;

/// <summary>
/// Issue 21 item 5: the built JavaScript client (clients/js) in Chromium against the real gateway and oidc-provider,
/// one function at a time, as an app calls it through <c>window.portcullis</c> on the test page.
/// </summary>
public sealed class ClientTests(ClientStack stack) : IClassFixture<ClientStack>
{
    [Fact]
    public async Task LoginGoesToTheNamedProviderAndLandsSignedInOnTheReturnUrl()
    {
        await using var context = await stack.NewContextAsync();
        var network = NetworkRecorder.Attach(context);
        var page = await stack.OpenAsync(context);
        Assert.Null(await page.EvaluateAsync<JsonElement?>("() => portcullis.user()"));

        await stack.FollowLoginAsync(page, "portcullis.login({ returnUrl: '/index.html?after=login', provider: 'main' })");

        Assert.Equal($"{stack.Origin}/index.html?after=login", page.Url);
        var login = (await network.RequestsAsync()).Single(r => r.Url.StartsWith($"{stack.Origin}/bff/login?", StringComparison.Ordinal));
        Assert.Equal("GET", login.Method);
        Assert.Equal("document", login.ResourceType); // a navigation, so the provider's pages show in the tab
        Assert.Contains("provider=main", login.Url, StringComparison.Ordinal);
        Assert.Contains("returnUrl=%2Findex.html%3Fafter%3Dlogin", login.Url, StringComparison.Ordinal);
        Assert.Equal("alice", await page.EvaluateAsync<string>("() => portcullis.user().then(u => u.sub)"));
    }

    [Fact]
    public async Task LoginWithoutAReturnUrlComesBackToTheCurrentPage()
    {
        await using var context = await stack.NewContextAsync();
        var page = await stack.OpenAsync(context, "?here=1");

        await stack.FollowLoginAsync(page, "portcullis.login()");

        Assert.Equal($"{stack.Origin}/index.html?here=1", page.Url);
    }

    [Fact]
    public async Task UserIsCachedUntilItExpiresSharedWhileInFlightAndRefreshedOnRequest()
    {
        await using var context = await stack.NewContextAsync();
        var page = await SignedInPageAsync(context, "?userCacheSeconds=2");
        var userRequests = 0;
        page.Request += (_, request) =>
        {
            if (request.Url == $"{stack.Origin}/bff/user")
            {
                Interlocked.Increment(ref userRequests);
            }
        };

        // Three at once share one request; one more right after is answered from the cache.
        var names = await page.EvaluateAsync<string[]>(
            "async () => { const all = await Promise.all([portcullis.user(), portcullis.user(), portcullis.user()]); all.push(await portcullis.user()); return all.map(u => u.claims.name); }");
        Assert.All(names, name => Assert.Equal("Alice Example", name));
        Assert.Equal(1, userRequests);

        // Past the 2 s the page asked for (a lower bound, so a loaded machine cannot make this flaky): asked again.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Equal("alice", await page.EvaluateAsync<string>("() => portcullis.user().then(u => u.sub)"));
        Assert.Equal(2, userRequests);

        Assert.Equal("alice", await page.EvaluateAsync<string>("() => portcullis.user({ refresh: true }).then(u => u.sub)"));
        Assert.Equal(3, userRequests);
        var session = await page.EvaluateAsync<JsonElement>("() => portcullis.user().then(u => u.session)");
        Assert.True(session.TryGetProperty("expiresAt", out _));
    }

    [Fact]
    public async Task FetchSendsTheAntiForgeryHeaderAndTheSessionCookieForUrlsAndRequests()
    {
        await using var context = await stack.NewContextAsync();
        var network = NetworkRecorder.Attach(context);
        var page = await SignedInPageAsync(context);
        var before = stack.Upstream.Requests.Count;

        var statuses = await page.EvaluateAsync<int[]>("""
            async () => [
              (await portcullis.fetch('/api/whoami/url', { method: 'POST', headers: { 'X-App': 'kept' }, body: 'hello' })).status,
              (await portcullis.fetch(new Request('/api/whoami/request'))).status,
              (await portcullis.fetch(new URL('/api/whoami/object', location.href))).status,
              (await fetch('/api/whoami/plain')).status,
            ]
            """);

        // The plain fetch is the control: without the header the gateway refuses before anything else.
        Assert.Equal([200, 200, 200, 403], statuses);
        var forwarded = stack.Upstream.Requests.Skip(before).ToArray();
        Assert.Equal(["/api/whoami/url", "/api/whoami/request", "/api/whoami/object"], forwarded.Select(r => r.PathAndQuery));
        Assert.All(forwarded, r => Assert.StartsWith("Bearer ", r.Headers["Authorization"], StringComparison.Ordinal));
        Assert.Equal("kept", forwarded[0].Headers["X-App"]);
        var sent = (await network.RequestsAsync()).Where(r => r.Url.Contains("/api/whoami/", StringComparison.Ordinal) && !r.Url.EndsWith("/plain", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, sent.Length);
        Assert.All(sent, r => Assert.Equal("1", r.Headers["x-csrf"]));
        Assert.All(sent, r => Assert.Contains(BrowserStack.SessionCookieName + "=", r.Headers["cookie"], StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUnauthenticated401SignsOutWithAnEventAndForgetsTheCachedUser()
    {
        await using var context = await stack.NewContextAsync();
        var page = await SignedInPageAsync(context);
        Assert.Equal("alice", await page.EvaluateAsync<string>("() => portcullis.user().then(u => u.sub)"));

        // The session ends where the page cannot see it (the cookie gone, as after it expired).
        await context.ClearCookiesAsync();
        var status = await page.EvaluateAsync<int>("() => portcullis.fetch('/api/whoami').then(r => r.status)");

        Assert.Equal(401, status);
        var events = await page.EvaluateAsync<JsonElement>("() => window.events");
        var signedOut = Assert.Single(events.EnumerateArray());
        Assert.Equal("signedout", signedOut.GetProperty("type").GetString());
        Assert.Equal("unauthenticated", signedOut.GetProperty("reason").GetString());
        Assert.False(signedOut.GetProperty("fromOtherTab").GetBoolean());
        // The cache (60 s by default) was dropped: the user is asked for again, and is gone.
        Assert.Null(await page.EvaluateAsync<JsonElement?>("() => portcullis.user()"));
        Assert.Equal($"{stack.Origin}/index.html", page.Url);
    }

    [Fact]
    public async Task AnUnauthenticated401GoesToTheLoginAndBackWhenAskedTo()
    {
        await using var context = await stack.NewContextAsync();
        var network = NetworkRecorder.Attach(context);
        var page = await SignedInPageAsync(context, "?onSignedOut=login");
        await context.ClearCookiesAsync();

        await stack.FollowLoginAsync(page, "portcullis.fetch('/api/whoami')");

        Assert.Equal($"{stack.Origin}/index.html?onSignedOut=login", page.Url);
        var logins = (await network.RequestsAsync()).Where(r => r.Url.StartsWith($"{stack.Origin}/bff/login?", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, logins.Length); // the first sign-in, then the one the 401 started
        Assert.Contains("returnUrl=%2Findex.html%3FonSignedOut%3Dlogin", logins[1].Url, StringComparison.Ordinal);
        Assert.Equal(200, await page.EvaluateAsync<int>("() => portcullis.fetch('/api/whoami').then(r => r.status)"));
    }

    [Fact]
    public async Task LogoutEndsTheSessionAndTheOtherTabHearsOfItThroughBroadcastChannel()
    {
        await using var context = await stack.NewContextAsync();
        var first = await SignedInPageAsync(context);
        var second = await stack.OpenAsync(context);
        // The second tab has the user cached (60 s): only the broadcast can tell it the session is gone.
        Assert.Equal("alice", await second.EvaluateAsync<string>("() => portcullis.user().then(u => u.sub)"));

        var logoutUrl = await first.EvaluateAsync<string?>("() => portcullis.logout({ navigate: false })");

        Assert.StartsWith(stack.Idp.Issuer, logoutUrl); // the provider's end-session page, for the app to go to
        await second.WaitForFunctionAsync("() => window.events.length > 0");
        var heard = Assert.Single((await second.EvaluateAsync<JsonElement>("() => window.events")).EnumerateArray());
        Assert.Equal("signedout", heard.GetProperty("type").GetString());
        Assert.Equal("logout", heard.GetProperty("reason").GetString());
        Assert.True(heard.GetProperty("fromOtherTab").GetBoolean());
        Assert.Null(await second.EvaluateAsync<JsonElement?>("() => portcullis.user()"));
        Assert.Equal(401, await BrowserStack.UserStatusAsync(first));
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == BrowserStack.SessionCookieName);
    }

    [Fact]
    public async Task LogoutNavigatesToTheProvidersSignOutPage()
    {
        await using var context = await stack.NewContextAsync();
        var page = await SignedInPageAsync(context);

        await page.EvaluateAsync("() => { setTimeout(() => portcullis.logout(), 0); }");

        await page.WaitForURLAsync(url => url.StartsWith(stack.Idp.Issuer, StringComparison.Ordinal));
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == BrowserStack.SessionCookieName);
        Assert.Equal(401, await BrowserStack.UserStatusAsync(await stack.OpenAsync(context)));
    }

    [Fact]
    public async Task LogoutEverywhereEndsTheUsersSessionsInOtherBrowsersAndPlainLogoutDoesNot()
    {
        await using var laptop = await stack.NewContextAsync();
        await using var phone = await stack.NewContextAsync();
        await using var tablet = await stack.NewContextAsync();
        var onLaptop = await SignedInPageAsync(laptop);
        var onPhone = await SignedInPageAsync(phone);
        var onTablet = await SignedInPageAsync(tablet);

        await onTablet.EvaluateAsync("() => portcullis.logout({ navigate: false })");
        Assert.Equal(401, await BrowserStack.UserStatusAsync(onTablet));
        Assert.Equal(200, await BrowserStack.UserStatusAsync(onPhone));

        await onLaptop.EvaluateAsync("() => portcullis.logout({ everywhere: true, navigate: false })");

        Assert.Equal(401, await BrowserStack.UserStatusAsync(onLaptop));
        Assert.Equal(401, await BrowserStack.UserStatusAsync(onPhone));
    }

    [Fact]
    public async Task AStepUpRequired401StartsTheStepUpLoginWithTheHintAndTheRouteThenAdmits()
    {
        await using var context = await stack.NewContextAsync();
        var network = NetworkRecorder.Attach(context);
        var page = await SignedInPageAsync(context);
        // A plain login: oidc-provider reports no auth_time unless asked, so the route cannot know how recent it was.
        Assert.Equal(401, await page.EvaluateAsync<int>("() => fetch('/api/recent', { headers: { 'X-CSRF': '1' } }).then(r => r.status)"));

        await stack.FollowLoginAsync(page, "portcullis.fetch('/api/recent')");

        var stepUp = (await network.RequestsAsync()).Where(r => r.Url.StartsWith($"{stack.Origin}/bff/login?", StringComparison.Ordinal)).Last();
        Assert.Contains($"maxAge={ClientStack.StepUpMaxAgeSeconds}", stepUp.Url, StringComparison.Ordinal);
        Assert.Contains("provider=main", stepUp.Url, StringComparison.Ordinal);
        Assert.Equal(200, await page.EvaluateAsync<int>("() => portcullis.fetch('/api/recent').then(r => r.status)"));
        Assert.Equal("alice", await page.EvaluateAsync<string>("() => portcullis.user().then(u => u.sub)"));
    }

    [Fact]
    public async Task AStepUpEventCancelledByTheAppLeavesThePageWhereItIs()
    {
        await using var context = await stack.NewContextAsync();
        var page = await SignedInPageAsync(context, "?cancelStepUp=1");

        var status = await page.EvaluateAsync<int>("() => portcullis.fetch('/api/recent').then(r => r.status)");

        Assert.Equal(401, status);
        var stepUp = Assert.Single((await page.EvaluateAsync<JsonElement>("() => window.events")).EnumerateArray());
        Assert.Equal("stepup", stepUp.GetProperty("type").GetString());
        Assert.Equal(ClientStack.StepUpMaxAgeSeconds, stepUp.GetProperty("maxAge").GetInt32());
        Assert.Contains("sign-in", stepUp.GetProperty("message").GetString(), StringComparison.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(1)); // real: a navigation, had one started, would have committed by now
        Assert.Equal($"{stack.Origin}/index.html?cancelStepUp=1", page.Url);
    }

    [Fact]
    public async Task LinkPostsWithTheAntiForgeryHeaderAndGoesToTheProviderForAFreshSignIn()
    {
        await using var context = await stack.NewContextAsync();
        var network = NetworkRecorder.Attach(context);
        var page = await SignedInPageAsync(context);

        var askedForPassword = await stack.FollowLoginAsync(page, "portcullis.link({ provider: 'main', returnUrl: '/index.html?linked=1' })");

        Assert.Equal($"{stack.Origin}/index.html?linked=1", page.Url);
        var requests = await network.RequestsAsync();
        var link = Assert.Single(requests, r => r.Url.StartsWith($"{stack.Origin}/bff/link?", StringComparison.Ordinal));
        Assert.Equal("POST", link.Method);
        Assert.Equal("1", link.Headers["x-csrf"]);
        // Linking forces a fresh sign-in at the provider, although its session from the first sign-in is still alive.
        Assert.True(askedForPassword);
        Assert.Equal("alice", await page.EvaluateAsync<string>("() => portcullis.user().then(u => u.sub)"));
    }

    [Fact]
    public async Task ProvidersListsTheConfiguredProviders()
    {
        await using var context = await stack.NewContextAsync();
        var page = await stack.OpenAsync(context);

        var providers = await page.EvaluateAsync<JsonElement>("() => portcullis.providers()");

        var provider = Assert.Single(providers.EnumerateArray());
        Assert.Equal("main", provider.GetProperty("name").GetString());
    }

    private async Task<IPage> SignedInPageAsync(IBrowserContext context, string query = "")
    {
        var page = await stack.OpenAsync(context, query);
        await stack.FollowLoginAsync(page, "portcullis.login()");
        Assert.Equal($"{stack.Origin}/index.html{query}", page.Url);
        return page;
    }
}
