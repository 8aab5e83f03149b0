using System.Net;
using System.Text.Json;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Providers;

public sealed class MultiProviderTests
{
    [Fact]
    public async Task ProvidersAreListedByNameAndDisplayNameWithNothingSecret()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true, discord: true, oidc: true);
        using var browser = new BrowserClient();

        var response = await browser.GetAsync($"{stack.Origin}/bff/providers", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var providers = JsonDocument.Parse(response.Body).RootElement.EnumerateArray()
            .Select(p => (p.GetProperty("name").GetString(), p.GetProperty("displayName").GetString()))
            .OrderBy(p => p.Item1)
            .ToArray();
        Assert.Equal([("discord", "Discord"), ("github", "GitHub"), ("main", "Example ID")], providers);
        Assert.DoesNotContain(ProviderStack.ClientSecret, response.Body);
        Assert.DoesNotContain(TestIdp.ClientSecret, response.Body);
        Assert.DoesNotContain(ProviderStack.ClientId, response.Body);
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.GetAsync($"{stack.Origin}/bff/providers")).Status);
    }

    [Fact]
    public async Task WithSeveralProvidersTheLoginMustNameOneThatExists()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true, discord: true);
        using var browser = new BrowserClient();

        Assert.Equal(HttpStatusCode.BadRequest, (await browser.GetAsync($"{stack.Origin}/bff/login")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.GetAsync($"{stack.Origin}/bff/login?provider=gitlab")).Status);
        var github = await browser.GetAsync($"{stack.Origin}/bff/login?provider=github");
        Assert.Equal(HttpStatusCode.Redirect, github.Status);
        Assert.StartsWith(stack.GitHub!.AuthorizationEndpoint + "?", github.Headers["Location"]);
        Assert.Contains(Uri.EscapeDataString($"{stack.Origin}/bff/callback/github"), github.Headers["Location"]);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM sessions"));
    }

    [Fact]
    public async Task ACallbackForOneProviderCannotCompleteAnotherProvidersLogin()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true, discord: true);
        using var browser = new BrowserClient();
        var githubCallback = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login?provider=github", "octocat");

        var crossed = await browser.GetAsync(githubCallback.Replace("/bff/callback/github", "/bff/callback/discord", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.BadRequest, crossed.Status);
        Assert.Empty(stack.Discord!.Observed.TokenRequests);
        Assert.Empty(stack.GitHub!.Observed.TokenRequests);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM sessions"));
    }

    [Fact]
    public async Task UsersOfDifferentProvidersSignedInAlternatelyEachSeeThemselves()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true, discord: true, oidc: true);
        using var alice = new BrowserClient();
        using var octocat = new BrowserClient();
        using var nelly = new BrowserClient();

        // Logins interleaved at the providers' side too: start all three, finish them in another order.
        var aliceCallback = await alice.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login?provider=main", "alice");
        var octocatCallback = await octocat.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login?provider=github", "octocat");
        var nellyCallback = await nelly.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login?provider=discord", "nelly");
        Assert.Equal(HttpStatusCode.OK, (await nelly.GetAsync(nellyCallback)).Status);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync(aliceCallback)).Status);
        Assert.Equal(HttpStatusCode.OK, (await octocat.GetAsync(octocatCallback)).Status);

        var userIds = new HashSet<string>();
        for (var round = 0; round < 3; round++)
        {
            foreach (var (browser, provider, sub) in new[] { (alice, "main", "alice"), (octocat, "github", "583231"), (nelly, "discord", "80351110224678912") })
            {
                var user = await stack.UserAsync(browser);
                Assert.Equal(provider, user.GetProperty("provider").GetString());
                Assert.Equal(sub, user.GetProperty("sub").GetString());
                userIds.Add(user.GetProperty("userId").GetString()!);
            }
        }

        Assert.Equal(3, userIds.Count);
        Assert.Equal(3, (await stack.RowsAsync("SELECT * FROM users")).Count);
    }

    [Fact]
    public async Task BackchannelLogoutForAProviderWithoutIdTokensIsRefusedAndEndsNothing()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "github", "octocat");
        // A well-formed but unsigned logout token naming the user: GitHub has no keys to sign one with, so nothing can be valid.
        var header = Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode("{\"alg\":\"none\"}"u8.ToArray());
        var payload = Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode(
            System.Text.Encoding.UTF8.GetBytes($"{{\"iss\":null,\"aud\":\"{ProviderStack.ClientId}\",\"sub\":\"583231\",\"iat\":{DateTimeOffset.UtcNow.ToUnixTimeSeconds()},\"jti\":\"j1\",\"events\":{{\"http://schemas.openid.net/event/backchannel-logout\":{{}}}}}}"));

        using var http = new HttpClient();
        using var response = await http.PostAsync(
            $"{stack.Origin}/bff/backchannel-logout/github",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["logout_token"] = $"{header}.{payload}." }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Single(await stack.RowsAsync("SELECT * FROM sessions"));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }
}
