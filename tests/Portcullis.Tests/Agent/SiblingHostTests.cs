using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Portcullis.Tests.Configuration;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Agent;

/// <summary>
/// Issue 20 item 5 (ADR 0042): <c>AllowedReturnHosts</c> lets login and logout return to listed sibling hosts over https,
/// and nothing else: every hostile spelling of the local-path tests is still refused, as are http, user info, ports,
/// backslashes and encoded forms aimed at a listed host. <c>Session:CookieDomain</c> shares the session cookie under a
/// <c>__Secure-</c> name while the login-binding cookie stays host-only.
/// </summary>
public sealed class SiblingHostTests(SiblingHostTests.ListedHosts world) : IClassFixture<SiblingHostTests.ListedHosts>
{
    public sealed class ListedHosts : IAsyncLifetime
    {
        public TestStack Stack { get; private set; } = null!;

        public async Task InitializeAsync() => Stack = await TestStack.StartAsync(adjust: s =>
        {
            s["Portcullis:AllowedReturnHosts:0"] = "app.example.com";
            s["Portcullis:AllowedReturnHosts:1"] = "admin.example.com";
            s["Portcullis:RateLimit:LoginPerMinute"] = "1000";
        });

        public Task DisposeAsync() => Stack.DisposeAsync().AsTask();
    }

    [Theory]
    [InlineData("https://app.example.com")]
    [InlineData("https://app.example.com/orders?tab=1#top")]
    [InlineData("https://ADMIN.example.com/")]
    [InlineData("/local/path")]
    public async Task AReturnUrlOnAListedHttpsHostIsAcceptedAtLoginAndLogout(string returnUrl)
    {
        using var browser = new BrowserClient();

        var login = await browser.GetAsync($"{world.Stack.Origin}/bff/login?returnUrl={Uri.EscapeDataString(returnUrl)}");
        var logout = await browser.SendAsync(HttpMethod.Post, $"{world.Stack.Origin}/bff/logout?returnUrl={Uri.EscapeDataString(returnUrl)}", null, BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Redirect, login.Status);
        Assert.StartsWith(world.Stack.Idp.Issuer, login.Headers["Location"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, logout.Status);
        Assert.Equal(returnUrl, System.Text.Json.JsonDocument.Parse(logout.Body).RootElement.GetProperty("logoutUrl").GetString());
    }

    [Theory]
    // The spellings of LoginAttackTests.HostileReturnUrlIsRefusedBeforeAnythingHappens, with sibling hosts configured.
    [InlineData("https://evil.example")]
    [InlineData("//evil.example")]
    [InlineData("/\\evil.example")]
    [InlineData("\\\\evil.example")]
    [InlineData("/%2f%2fevil.example")]
    [InlineData("/%5cevil.example")]
    [InlineData("/\tevil")]
    [InlineData(" /ok")]
    [InlineData("javascript:alert(1)")]
    // The spellings of the browser OpenRedirectTests.
    [InlineData("///evil.example/")]
    [InlineData("\\/evil.example/")]
    [InlineData("http://evil.example/")]
    [InlineData("http:evil.example")]
    [InlineData("http:/evil.example/")]
    [InlineData("%2F%2Fevil.example/")]
    [InlineData("/%2Fevil.example/")]
    [InlineData("%5C%5Cevil.example/")]
    [InlineData("/%5Cevil.example/")]
    [InlineData("/%09/evil.example/")]
    [InlineData(" //evil.example/")]
    [InlineData("/\r\nLocation: http://evil.example/")]
    [InlineData("data:text/html,<script>alert(document.domain)</script>")]
    // Aimed at a listed host, but not plainly https to it.
    [InlineData("https:app.example.com/")]
    [InlineData("https:///app.example.com/")]
    [InlineData("///app.example.com/")]
    [InlineData("https://app.example.com/\r\nLocation: http://evil.example/")]
    [InlineData("https://app.example.com/%0d%0aLocation:%20http://evil.example/")]
    [InlineData("http://app.example.com/")]
    [InlineData("//app.example.com/")]
    [InlineData("https://app.example.com@evil.example/")]
    [InlineData("https://evil.example@app.example.com/")]
    [InlineData("https://app.example.com%40evil.example/")]
    [InlineData("https://app.example.com\\@evil.example/")]
    [InlineData("https:\\\\app.example.com/")]
    [InlineData("https:/app.example.com/")]
    [InlineData("https://app.example.com:8443/")]
    [InlineData("https://app.example.com:443/")]
    [InlineData("https://app.example.com./")]
    [InlineData("https://app%2eexample.com/")]
    [InlineData("https://app.example.com/%2f%2fevil.example")]
    [InlineData("https://app.example.com/%5cevil.example")]
    [InlineData("https://app.example.com.evil.example/")]
    [InlineData("https://evil.example/?next=https://app.example.com/")]
    [InlineData("https://evil.example#https://app.example.com/")]
    [InlineData("%68ttps://app.example.com/")]
    [InlineData("https://app.example.com/ ")]
    [InlineData("https://\tapp.example.com/")]
    [InlineData("https://[::1]/")]
    [InlineData("https://*.example.com/")]
    public async Task AnyOtherReturnUrlIsRefusedAtLoginAndLogout(string returnUrl)
    {
        using var browser = new BrowserClient();

        var login = await browser.GetAsync($"{world.Stack.Origin}/bff/login?returnUrl={Uri.EscapeDataString(returnUrl)}");
        var logout = await browser.SendAsync(HttpMethod.Post, $"{world.Stack.Origin}/bff/logout?returnUrl={Uri.EscapeDataString(returnUrl)}", null, BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.BadRequest, login.Status);
        Assert.False(login.Headers.ContainsKey("Location"));
        Assert.Empty(login.SetCookies);
        Assert.Equal(HttpStatusCode.BadRequest, logout.Status);
        Assert.Contains("invalid_request", logout.Body);
    }

    [Fact]
    public async Task ASignInReturnsToTheListedSiblingHost()
    {
        using var browser = new BrowserClient();

        var callback = await browser.GetAsync(await browser.AuthorizeAtProviderAsync(
            $"{world.Stack.Origin}/bff/login?returnUrl={Uri.EscapeDataString("https://app.example.com/welcome")}", "alice"));

        var target = callback.IsRedirect ? callback.Headers["Location"] : callback.Body;
        Assert.Contains("https://app.example.com/welcome", target);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{world.Stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Fact]
    public async Task WithACookieDomainTheSessionCookieIsSecurePrefixedAndSharedAndTheLoginCookieStaysHostOnly()
    {
        const string publicOrigin = "https://bff.portcullis.test";
        await using var stack = await TestStack.StartAsync(
            idpConfig: (config, _) => TestIdp.Client(config)["redirect_uris"]!.AsArray().Add($"{publicOrigin}/bff/callback/main"),
            adjust: s =>
            {
                s["Portcullis:PublicOrigin"] = publicOrigin;
                s["Portcullis:Session:CookieDomain"] = "portcullis.test";
            });
        using var browser = new BrowserClient();

        // The provider sends the browser to the public origin; this test's browser reaches that gateway on loopback.
        var callback = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login?returnUrl=%2F", "alice");
        var loginCookies = browser.Responses[0].SetCookies;
        var signedIn = await browser.GetAsync(callback.Replace(publicOrigin, stack.Origin, StringComparison.Ordinal));
        var user = await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        var logout = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);

        var binding = Assert.Single(loginCookies, c => c.StartsWith("__Host-portcullis-login", StringComparison.Ordinal));
        Assert.DoesNotContain("domain=", binding, StringComparison.OrdinalIgnoreCase);
        var session = Assert.Single(signedIn.SetCookies, c => c.StartsWith("__Secure-portcullis=", StringComparison.Ordinal));
        foreach (var attribute in new[] { "domain=portcullis.test", "path=/", "secure", "samesite=strict", "httponly" })
        {
            Assert.Contains(attribute, session, StringComparison.OrdinalIgnoreCase);
        }

        Assert.DoesNotContain(signedIn.SetCookies, c => c.StartsWith("__Host-portcullis=", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, user.Status);
        // Expired with the attributes it was set with, Domain included, or the browser would keep it (SECURITY.md item 5).
        var expired = Assert.Single(logout.SetCookies, c => c.StartsWith("__Secure-portcullis=", StringComparison.Ordinal));
        Assert.Contains("domain=portcullis.test", expired, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("expires=Thu, 01 Jan 1970", expired, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task WrongCookieDomainsAndReturnHostsDoNotStart()
    {
        var settings = MisconfigurationTests.ValidSettings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        settings["Portcullis:PublicOrigin"] = "https://bff.example.com";
        settings["Portcullis:Session:CookieDomain"] = "example.org";
        settings["Portcullis:Session:CookieName"] = "__Host-portcullis-mine";
        string[] hosts = ["https://app.example.com", "*.example.com", "app.example.com:443", "app.example.com/x", "user@app.example.com", "10.0.0.1", ".example.com"];
        for (var i = 0; i < hosts.Length; i++)
        {
            settings[$"Portcullis:AllowedReturnHosts:{i}"] = hosts[i];
        }

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => MisconfigurationTests.StartAsync(settings));

        var message = string.Join('\n', exception.Failures);
        Assert.Contains("Portcullis:Session:CookieDomain 'example.org' must be Portcullis:PublicOrigin's host", message);
        Assert.Contains("Portcullis:Session:CookieName must start with '__Secure-'", message);
        for (var i = 0; i < hosts.Length; i++)
        {
            Assert.Contains($"Portcullis:AllowedReturnHosts:{i} must be a host name", message);
        }
    }
}
