using System.Net;
using System.Text.Json;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Authorization;

/// <summary>
/// Issue 17 item 5: granted scopes come only from the token response, and <c>acr</c>, <c>amr</c> and <c>auth_time</c>
/// only from the validated ID token. The real oidc-provider's userinfo is made to claim more than it should.
/// </summary>
public sealed class ClaimSourceTests
{
    [Fact]
    public async Task UserInfoThatClaimsAScopeAnAcrAndAFreshAuthTimeSatisfiesNoScopeOrStepUpRequirement()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: settings =>
        {
            settings["Portcullis:Policies:strong:Acr"] = "urn:portcullis:loa:2";
            settings["Portcullis:Policies:recent:MaxAge"] = "00:10:00";
            Route(settings, "admin", upstream.Url);
            settings["Portcullis:Apis:admin:RequireScopes:0"] = "admin";
            Route(settings, "strong", upstream.Url);
            settings["Portcullis:Apis:strong:Policy"] = "strong";
            Route(settings, "recent", upstream.Url);
            settings["Portcullis:Apis:recent:Policy"] = "recent";
            Route(settings, "open", upstream.Url);
        });
        await stack.Idp.AddUserInfoClaimsAsync(new Dictionary<string, object>
        {
            ["scope"] = "admin",
            ["acr"] = "urn:portcullis:loa:2",
            ["amr"] = new[] { "mfa", "hwk" },
            ["auth_time"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["nickname"] = "ally",
        });
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");

        var admin = await alice.GetAsync($"{stack.Origin}/api/admin", BrowserClient.Csrf);
        var strong = await alice.GetAsync($"{stack.Origin}/api/strong", BrowserClient.Csrf);
        var recent = await alice.GetAsync($"{stack.Origin}/api/recent", BrowserClient.Csrf);
        var open = await alice.GetAsync($"{stack.Origin}/api/open", BrowserClient.Csrf);
        var user = JsonDocument.Parse((await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Body).RootElement;

        Assert.Equal(HttpStatusCode.Forbidden, admin.Status);
        Assert.Contains("admin", JsonDocument.Parse(admin.Body).RootElement.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, strong.Status);
        Assert.Contains("step_up_required", strong.Body);
        Assert.Equal(HttpStatusCode.Unauthorized, recent.Status);
        Assert.Contains("step_up_required", recent.Body);
        Assert.Equal(HttpStatusCode.OK, open.Status);
        var upstreamSaw = Assert.Single(upstream.Requests);
        Assert.Equal("/api/open", upstreamSaw.PathAndQuery);

        // Userinfo still adds what describes the user; it adds nothing that describes the authentication or the grant.
        var claims = user.GetProperty("claims");
        Assert.Equal("ally", claims.GetProperty("nickname").GetString());
        foreach (var reserved in new[] { "scope", "acr", "amr", "auth_time" })
        {
            Assert.False(claims.TryGetProperty(reserved, out _), $"{reserved} came from userinfo: {claims}");
        }

        Assert.False(user.GetProperty("session").TryGetProperty("acr", out var acr) && acr.ValueKind == JsonValueKind.String, user.ToString());
    }

    private static void Route(Dictionary<string, string?> settings, string name, string upstream)
    {
        settings[$"Portcullis:Apis:{name}:Path"] = $"/api/{name}";
        settings[$"Portcullis:Apis:{name}:Upstream"] = upstream;
    }
}
