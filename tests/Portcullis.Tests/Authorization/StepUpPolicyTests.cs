using System.Net;
using System.Text.Json;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Providers;

namespace Portcullis.Tests.Authorization;

/// <summary>Issue 5 item 5, enforcement side, against the real oidc-provider: 401 <c>step_up_required</c> with a hint, then the step-up login admits.</summary>
public sealed class StepUpPolicyTests
{
    private static Task<ProviderStack> StartAsync(RecordingUpstream upstream) =>
        ProviderStack.StartAsync(
            oidc: true,
            adjust: settings =>
            {
                settings["Portcullis:Policies:recent:MaxAge"] = "00:00:05";
                settings["Portcullis:Policies:strong:Acr"] = "urn:portcullis:loa:2";
                foreach (var name in new[] { "recent", "strong" })
                {
                    settings[$"Portcullis:Apis:{name}:Path"] = $"/api/{name}";
                    settings[$"Portcullis:Apis:{name}:Upstream"] = upstream.Url;
                    settings[$"Portcullis:Apis:{name}:Policy"] = name;
                }
            });

    [Fact]
    public async Task ARouteDemandingMaxAgeRefusesAnOldAuthenticationAndAdmitsAfterTheStepUpLogin()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await StartAsync(upstream);
        using var browser = new BrowserClient();
        // A plain login: oidc-provider reports no auth_time unless asked, so how recent it was is unknown and must be proven.
        await stack.LoginAsync(browser, "main", "alice");
        var unknown = await browser.GetAsync($"{stack.Origin}/api/recent", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.Status);
        Assert.Contains("step_up_required", unknown.Body);

        // With max_age the ID token must carry auth_time (OpenID Connect Core §3.1.2.1).
        await stack.LoginAsync(browser, "main", "alice", "&maxAge=5");
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/recent", BrowserClient.Csrf)).Status);

        // Real: auth_time is the provider's clock. A gateway clock moved ahead would make the step-up login below look
        // too old as well, and a fake clock cannot go back.
        await Task.Delay(TimeSpan.FromSeconds(6.5));
        var old = await browser.GetAsync($"{stack.Origin}/api/recent", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Unauthorized, old.Status);
        var body = JsonDocument.Parse(old.Body).RootElement;
        Assert.Equal("step_up_required", body.GetProperty("error").GetString());
        Assert.Contains("sign-in within the last 5 seconds", body.GetProperty("message").GetString());
        Assert.Equal(5, body.GetProperty("stepUp").GetProperty("maxAge").GetInt32());
        Assert.False(body.GetProperty("stepUp").TryGetProperty("acr", out _));
        Assert.Single(upstream.Requests);
        // Not a logout: the session is still there.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);

        var stepUp = await stack.LoginAsync(browser, "main", "alice", "&maxAge=5");
        Assert.Equal(HttpStatusCode.OK, stepUp.Status);
        var fresh = await browser.GetAsync($"{stack.Origin}/api/recent", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, fresh.Status);
        Assert.Equal(2, upstream.Requests.Count);
        // The step-up made the provider ask for the password again (the max_age login right after the first was within 5 s of it).
        Assert.Equal(2, (await stack.Idp!.EventsAsync("login")).Length);
    }

    [Fact]
    public async Task ARouteDemandingAnAcrAsksForItAndAdmitsAfterTheStepUpLogin()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await StartAsync(upstream);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "main", "alice");

        var weak = await browser.GetAsync($"{stack.Origin}/api/strong", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Unauthorized, weak.Status);
        var hint = JsonDocument.Parse(weak.Body).RootElement.GetProperty("stepUp");
        Assert.Equal("urn:portcullis:loa:2", hint.GetProperty("acr").GetString());
        Assert.Empty(upstream.Requests);

        // acr_values alone are voluntary: a provider with a live session may answer without asking again (oidc-provider then
        // omits acr). maxAge=0 makes it authenticate anew at the requested level.
        await stack.LoginAsync(browser, "main", "alice", "&acr=urn:portcullis:loa:2&maxAge=0");

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/strong", BrowserClient.Csrf)).Status);
        Assert.Single(upstream.Requests);
    }
}
