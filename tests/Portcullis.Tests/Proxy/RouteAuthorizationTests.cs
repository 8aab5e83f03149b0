using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Portcullis.Authorization;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>Per-route scope and claim requirements, and the same authorization for an app's own endpoints (library use).</summary>
public sealed class RouteAuthorizationTests
{
    [Fact]
    public async Task RouteRequirementsAreCheckedBeforeForwardingAndAMissingOneGives403WithTheReason()
    {
        await using var upstream = await ProxyUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            Routes.Add(s, "orders", "/api/orders", upstream.Url);
            s["Portcullis:Apis:orders:RequireScopes:0"] = "api";
            Routes.Add(s, "admin", "/api/admin", upstream.Url);
            s["Portcullis:Apis:admin:RequireScopes:0"] = "api";
            s["Portcullis:Apis:admin:RequireScopes:1"] = "admin";
            Routes.Add(s, "verified", "/api/verified", upstream.Url);
            s["Portcullis:Apis:verified:RequireClaims:email_verified:0"] = "true";
            Routes.Add(s, "bob", "/api/bob", upstream.Url);
            s["Portcullis:Apis:bob:RequireClaims:email:0"] = "bob@example.com";
        });
        using var browser = new BrowserClient();

        var anonymous = await browser.GetAsync($"{stack.Origin}/api/admin", BrowserClient.Csrf);
        await browser.LoginAsync(stack.Origin, "alice");
        var orders = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);
        var admin = await browser.GetAsync($"{stack.Origin}/api/admin/x", BrowserClient.Csrf);
        var verified = await browser.GetAsync($"{stack.Origin}/api/verified", BrowserClient.Csrf);
        var bob = await browser.GetAsync($"{stack.Origin}/api/bob", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
        Assert.Contains("\"error\":\"unauthenticated\"", anonymous.Body);
        Assert.Equal(HttpStatusCode.OK, orders.Status);
        Assert.Equal(HttpStatusCode.OK, verified.Status);
        Assert.Equal(HttpStatusCode.Forbidden, admin.Status);
        Assert.Contains("\"error\":\"forbidden\"", admin.Body);
        Assert.Contains("not granted the scope admin.", admin.Body);
        Assert.Equal(HttpStatusCode.Forbidden, bob.Status);
        Assert.Contains("\"error\":\"forbidden\"", bob.Body);
        Assert.Contains("email claim must be one of: bob@example.com", bob.Body);
        Assert.Equal(["/api/orders", "/api/verified"], upstream.Requests.Select(r => r.PathAndQuery).ToArray());
    }

    [Fact]
    public async Task AnAppsOwnEndpointsUseThePortcullisSchemeAndPoliciesWithJsonAnswers()
    {
        var port = FreePort.Next();
        var origin = $"http://localhost:{port}";
        await using var idp = await TestIdp.StartAsync([origin]);
        var data = Directory.CreateTempSubdirectory("portcullis-library-").FullName;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(GatewayHost.DefaultSettings(port, idp, data));
        builder.WebHost.UseUrls(origin);
        builder.Logging.ClearProviders();
        builder.Services.AddPortcullis(builder.Configuration.GetSection("Portcullis"));
        await using var app = builder.Build();
        app.UsePortcullis();
        app.MapPortcullis();
        app.MapGet("/me", (ClaimsPrincipal user) => $"{user.Identity!.Name}|{string.Join(' ', user.FindAll("scope").Select(c => c.Value))}")
            .RequireAuthorization(PortcullisAuthenticationDefaults.UserPolicy);
        app.MapGet("/admin", () => "secret").RequireAuthorization(policy => policy.RequirePortcullisSession().RequireScope("admin"));
        app.MapGet("/aliceonly", () => "hi alice").RequireAuthorization(policy => policy.RequirePortcullisSession().RequireClaimValue("email", "alice@example.com"));
        await app.StartAsync();
        using var browser = new BrowserClient();

        var anonymous = await browser.GetAsync($"{origin}/me", new Dictionary<string, string> { ["Accept"] = "text/html" });
        await browser.LoginAsync(origin);
        var me = await browser.GetAsync($"{origin}/me");
        var admin = await browser.GetAsync($"{origin}/admin");
        var alice = await browser.GetAsync($"{origin}/aliceonly");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
        Assert.False(anonymous.Headers.ContainsKey("Location"));
        Assert.Contains("\"error\":\"unauthenticated\"", anonymous.Body);
        Assert.Equal(HttpStatusCode.OK, me.Status);
        Assert.StartsWith("Alice Example|", me.Body);
        Assert.Contains("api", me.Body.Split('|')[1].Split(' '));
        Assert.Equal(HttpStatusCode.Forbidden, admin.Status);
        Assert.Contains("\"error\":\"forbidden\"", admin.Body);
        Assert.Contains("not granted the scope admin.", admin.Body);
        Assert.Equal(HttpStatusCode.OK, alice.Status);
        await app.StopAsync();
    }
}
