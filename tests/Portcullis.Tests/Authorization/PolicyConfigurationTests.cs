using System.Net;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Gateway;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Authorization;

/// <summary>Named policies: every mistake named at start; the same names work on an app's own endpoints from C#.</summary>
public sealed class PolicyConfigurationTests
{
    [Fact]
    public async Task EveryPolicyMistakeIsNamedAtOnce()
    {
        var data = Directory.CreateTempSubdirectory("portcullis-policies-").FullName;
        var settings = new Dictionary<string, string?>
        {
            ["Portcullis:PublicOrigin"] = "http://localhost:5999",
            ["Portcullis:Providers:discord:Kind"] = "discord",
            ["Portcullis:Providers:discord:ClientId"] = "id",
            ["Portcullis:Providers:discord:ClientSecret"] = "secret",
            ["Portcullis:Store:ConnectionString"] = $"Data Source={Path.Combine(data, "p.db")}",
            // The discord provider keeps its default scopes (identify email): no guilds.members.read.
            ["Portcullis:Policies:mods:Discord:Guild"] = "not-a-snowflake",
            ["Portcullis:Policies:mods:Discord:Roles:0"] = "moderator",
            ["Portcullis:Policies:team:GitHub:Team"] = "moderators",
            ["Portcullis:Policies:staff:EmailDomains:0"] = "not a domain",
            ["Portcullis:Policies:recent:MaxAge"] = "-00:00:05",
            ["Portcullis:Apis:orders:Path"] = "/api/orders",
            ["Portcullis:Apis:orders:Upstream"] = "http://127.0.0.1:7001",
            ["Portcullis:Apis:orders:Policy"] = "admins",
            ["Portcullis:MembershipCacheDuration"] = "-00:01:00",
        };

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = GatewayApp.Create([], builder =>
            {
                builder.Configuration.AddInMemoryCollection(settings);
                builder.WebHost.UseUrls($"http://127.0.0.1:{FreePort.Next()}");
            });
            await app.StartAsync();
        });

        var message = string.Join('\n', exception.Failures);
        Assert.Contains("Portcullis:Policies:mods:Discord:Guild must be the guild's id", message);
        Assert.Contains("Portcullis:Policies:mods:Discord:Roles:0 must be a role id", message);
        Assert.Contains("Portcullis:Providers:discord:Scopes must include 'guilds.members.read' for Portcullis:Policies:mods:Discord", message);
        Assert.Contains("Portcullis:Policies:team:GitHub:Organization is required", message);
        Assert.Contains("Portcullis:Policies:team:GitHub:Provider: name the 'github' provider to ask (none is configured)", message);
        Assert.Contains("Portcullis:Policies:staff:EmailDomains:0 must be a domain", message);
        Assert.Contains("Portcullis:Policies:recent:MaxAge must be a positive duration", message);
        Assert.Contains("Portcullis:Apis:orders:Policy: no policy 'admins' in Portcullis:Policies", message);
        Assert.Contains("Portcullis:MembershipCacheDuration must not be negative", message);
    }

    [Fact]
    public async Task AnAppsOwnEndpointsUseNamedPoliciesByNameWithTheSameAnswers()
    {
        var port = FreePort.Next();
        var origin = $"http://localhost:{port}";
        await using var idp = await TestIdp.StartAsync([origin]);
        var data = Directory.CreateTempSubdirectory("portcullis-library-").FullName;
        var builder = WebApplication.CreateSlimBuilder();
        var settings = GatewayHost.DefaultSettings(port, idp, data);
        settings["Portcullis:Policies:staff:EmailDomains:0"] = "example.com";
        settings["Portcullis:Policies:partners:EmailDomains:0"] = "partner.example";
        settings["Portcullis:Policies:recent:MaxAge"] = "00:10:00";
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls(origin);
        builder.Logging.ClearProviders();
        builder.Services.AddPortcullis(builder.Configuration.GetSection("Portcullis"));
        await using var app = builder.Build();
        app.UsePortcullis();
        app.MapPortcullis();
        app.MapGet("/staff", (ClaimsPrincipal user) => user.FindFirst("email")!.Value).RequireAuthorization("staff");
        app.MapGet("/partners", () => "partners").RequireAuthorization("partners");
        app.MapGet("/recent", () => "recent").RequireAuthorization("recent");
        await app.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(origin);

        var staff = await browser.GetAsync($"{origin}/staff");
        var partners = await browser.GetAsync($"{origin}/partners");
        var recent = await browser.GetAsync($"{origin}/recent");

        Assert.Equal(HttpStatusCode.OK, staff.Status);
        Assert.Equal("alice@example.com", staff.Body);
        Assert.Equal(HttpStatusCode.Forbidden, partners.Status);
        Assert.Contains("\"error\":\"forbidden\"", partners.Body);
        Assert.Contains("alice@example.com is not one", partners.Body);
        // The plain login carried no auth_time: the app gets the step-up hint, not a bare 403.
        Assert.Equal(HttpStatusCode.Unauthorized, recent.Status);
        var body = JsonDocument.Parse(recent.Body).RootElement;
        Assert.Equal("step_up_required", body.GetProperty("error").GetString());
        Assert.Equal(600, body.GetProperty("stepUp").GetProperty("maxAge").GetInt32());
        await app.StopAsync();
    }
}
