using System.Net;
using Microsoft.AspNetCore.Http;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>
/// Issue 17, item 1: an API shares the gateway's origin, so its answer must not change the browser's state there. A
/// hostile (or compromised) upstream tries to plant a session and a login binding, and to run script from HTML.
/// </summary>
public sealed class UpstreamResponseHeaderTests
{
    private const string PlantedSession = "attackers-session-value";

    [Fact]
    public async Task AnUpstreamCannotPlantCookiesOrRunScriptOnTheGatewaysOrigin()
    {
        await using var upstream = await StartHostileUpstreamAsync();
        await using var stack = await TestStack.StartAsync(adjust: s => Routes.Add(s, "orders", "/api/orders", upstream.Url));
        using var victim = new BrowserClient();
        await victim.LoginAsync(stack.Origin);
        var jarBefore = victim.CookiesFor("localhost").ToDictionary();

        var response = await victim.GetAsync($"{stack.Origin}/api/orders/page", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Contains("<script>", response.Body); // the body passes; what it may do does not
        Assert.Empty(response.SetCookies);
        Assert.False(response.Headers.ContainsKey("Clear-Site-Data"));
        Assert.False(response.Headers.ContainsKey("Strict-Transport-Security"));
        Assert.Equal("nosniff", response.Headers["X-Content-Type-Options"]);
        Assert.Contains("default-src 'none'", response.Headers["Content-Security-Policy"]);
        Assert.Contains("sandbox", response.Headers["Content-Security-Policy"]);
        // Nothing changed: the victim's cookie jar and session are as before.
        Assert.Equal(jarBefore, victim.CookiesFor("localhost"));
        var user = await victim.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, user.Status);
        Assert.Contains("Alice", user.Body);
    }

    [Fact]
    public async Task ARouteThatPassesCookiesStillDropsTheGatewaysNamesAndCanOptOutOfTheCsp()
    {
        await using var upstream = await StartHostileUpstreamAsync();
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            Routes.Add(s, "orders", "/api/orders", upstream.Url);
            s["Portcullis:Apis:orders:PassResponseCookies"] = "true";
            s["Portcullis:Apis:orders:ResponseContentSecurityPolicy"] = "";
        });
        using var victim = new BrowserClient();
        await victim.LoginAsync(stack.Origin);
        var session = victim.CookiesFor("localhost")["__Host-portcullis"];

        var response = await victim.GetAsync($"{stack.Origin}/api/orders/page", BrowserClient.Csrf);

        Assert.Equal("theme=dark; Path=/", Assert.Single(response.SetCookies));
        Assert.Equal(session, victim.CookiesFor("localhost")["__Host-portcullis"]);
        Assert.Equal("frame-ancestors 'self'", response.Headers["Content-Security-Policy"]); // the upstream's own only
        Assert.Equal("nosniff", response.Headers["X-Content-Type-Options"]);
    }

    /// <summary>An API answering HTML with script, origin-wide headers and cookies named like the gateway's (any case), plus an innocent one.</summary>
    private static Task<ProxyUpstream> StartHostileUpstreamAsync() => ProxyUpstream.StartAsync(async (context, _) =>
    {
        context.Response.ContentType = "text/html";
        context.Response.Headers.ContentSecurityPolicy = "frame-ancestors 'self'";
        context.Response.Headers.Append("Set-Cookie", $"__Host-portcullis={PlantedSession}; Secure; Path=/; HttpOnly");
        context.Response.Headers.Append("Set-Cookie", "__host-Portcullis-login-abc=forged-binding; Secure; Path=/");
        context.Response.Headers.Append("Set-Cookie", "theme=dark; Path=/");
        // Origin-wide: would wipe the session cookie and reload every tab, or switch HSTS off for the origin.
        context.Response.Headers.Append("Clear-Site-Data", "\"cookies\", \"storage\", \"executionContexts\"");
        context.Response.Headers.Append("Strict-Transport-Security", "max-age=0");
        await context.Response.WriteAsync("<html><script>fetch('/bff/logout',{method:'POST'})</script></html>");
    });
}
