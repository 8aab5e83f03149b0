using System.Net;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Providers;

/// <summary>Step-up, login side: maxAge and acr reach the provider, the ID token must honour them, the session records them.</summary>
public sealed class StepUpLoginTests
{
    [Fact]
    public async Task AMaxAgeLoginMakesTheProviderAuthenticateAgainAndTheSessionRecordsTheNewAuthTime()
    {
        await using var stack = await ProviderStack.StartAsync(oidc: true);
        using var browser = new BrowserClient();
        var firstLogin = DateTimeOffset.UtcNow;
        await stack.LoginAsync(browser, "main", "alice");
        // Real: auth_time comes from the provider's own clock (a node process) in whole seconds; the new authentication
        // must be at least a second after the first.
        await Task.Delay(TimeSpan.FromSeconds(2.2));

        var stepUp = await stack.LoginAsync(browser, "main", "alice", "&maxAge=1");

        Assert.Equal(HttpStatusCode.OK, stepUp.Status);
        var authorize = browser.Responses.Last(r => r.Uri.AbsolutePath == "/bff/login");
        Assert.Equal("1", QueryHelpers.ParseQuery(new Uri(authorize.Headers["Location"]).Query)["max_age"]);
        // The provider asked for the password again although its own session was still alive.
        Assert.Equal(2, (await stack.Idp!.EventsAsync("login")).Length);
        var session = (await stack.UserAsync(browser)).GetProperty("session");
        // auth_time has whole seconds: the new authentication is at least a second after the first login.
        Assert.True(session.GetProperty("authTime").GetDateTimeOffset() >= firstLogin.AddSeconds(1));
        Assert.True(session.GetProperty("authTime").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddSeconds(-30));
    }

    [Fact]
    public async Task AnAuthTimeOlderThanMaxAgeIsRefused()
    {
        // The gateway's clock runs ten minutes ahead, so the provider's fresh auth_time looks ten minutes old.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(10));
        await using var stack = await ProviderStack.StartAsync(oidc: true, configure: builder => builder.Services.AddSingleton<TimeProvider>(clock));
        using var browser = new BrowserClient();

        var refused = await stack.LoginAsync(browser, "main", "alice", "&maxAge=60");

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("login_failed", refused.Body);
        Assert.Contains("auth_time older than the requested max_age", stack.Gateway.Logs.All);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM sessions"));
    }

    [Fact]
    public async Task AnAcrTheProviderConfirmsIsRecordedWithTheSession()
    {
        await using var stack = await ProviderStack.StartAsync(oidc: true);
        using var browser = new BrowserClient();

        var login = await stack.LoginAsync(browser, "main", "alice", "&acr=urn:portcullis:loa:2");

        Assert.Equal(HttpStatusCode.OK, login.Status);
        Assert.Equal("urn:portcullis:loa:2", QueryHelpers.ParseQuery(new Uri(browser.Responses[0].Headers["Location"]).Query)["acr_values"]);
        Assert.Equal("urn:portcullis:loa:2", (await stack.UserAsync(browser)).GetProperty("session").GetProperty("acr").GetString());
    }

    [Fact]
    public async Task AnAcrTheProviderDoesNotConfirmFailsTheLogin()
    {
        await using var stack = await ProviderStack.StartAsync(oidc: true);
        using var browser = new BrowserClient();

        var refused = await stack.LoginAsync(browser, "main", "alice", "&acr=urn:example:hardware-key");

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("login_failed", refused.Body);
        Assert.Contains("[3001]", stack.Gateway.Logs.All);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM sessions"));
    }

    [Theory]
    [InlineData("&maxAge=60")]
    [InlineData("&acr=urn:portcullis:loa:2")]
    public async Task StepUpIsRefusedForProvidersWithoutIdTokens(string query)
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true);
        using var browser = new BrowserClient();

        var refused = await browser.GetAsync($"{stack.Origin}/bff/login?provider=github{query}");

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM login_transactions"));
    }

    [Theory]
    [InlineData("&maxAge=-1")]
    [InlineData("&maxAge=soon")]
    [InlineData("&maxAge=1&maxAge=2")]
    [InlineData("&acr=")]
    [InlineData("&acr=a%0Ab")]
    public async Task MalformedStepUpParametersAreRefused(string query)
    {
        await using var stack = await ProviderStack.StartAsync(oidc: true);
        using var browser = new BrowserClient();

        Assert.Equal(HttpStatusCode.BadRequest, (await browser.GetAsync($"{stack.Origin}/bff/login?provider=main{query}")).Status);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM login_transactions"));
    }
}
