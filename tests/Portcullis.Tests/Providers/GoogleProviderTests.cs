using System.Net;
using Microsoft.AspNetCore.WebUtilities;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Providers;

/// <summary>The google preset is OpenID Connect with Google's specifics; the real oidc-provider plays Google's part.</summary>
public sealed class GoogleProviderTests
{
    [Fact]
    public async Task TheGooglePresetAsksForOfflineAccessWithConsentAndSignsInWithAValidatedIdToken()
    {
        await using var stack = await ProviderStack.StartAsync(oidc: true, adjust: settings =>
        {
            settings["Portcullis:Providers:main:Kind"] = "google";
            // Only ClientId, ClientSecret and the authority (pointed at the local provider) remain: scopes come from the preset.
            foreach (var key in settings.Keys.Where(k => k.StartsWith("Portcullis:Providers:main:Scopes:", StringComparison.Ordinal)).ToList())
            {
                settings.Remove(key);
            }
        });
        using var browser = new BrowserClient();

        var landing = await stack.LoginAsync(browser, "main", "alice");

        Assert.Equal(HttpStatusCode.OK, landing.Status);
        var authorize = QueryHelpers.ParseQuery(new Uri(browser.Responses[0].Headers["Location"]).Query);
        Assert.Equal("offline", authorize["access_type"]);
        Assert.Equal("consent", authorize["prompt"]);
        Assert.Equal("openid profile email", authorize["scope"]);
        Assert.Equal(43, authorize["nonce"].ToString().Length);
        Assert.Equal("S256", authorize["code_challenge_method"]);

        var user = await stack.UserAsync(browser);
        Assert.Equal("alice", user.GetProperty("sub").GetString());
        Assert.Equal("alice@example.com", user.GetProperty("claims").GetProperty("email").GetString());

        // Logout revokes at the discovered revocation endpoint (here the access token: no offline_access, no refresh token).
        var logout = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, logout.Status);
        // Revocation is queued and sent in the background; the logout did not wait for it.
        await Eventually.RevocationsSentAsync(stack.Gateway);
        var revocation = Assert.Single(await stack.Idp!.EventsAsync("revocation"));
        Assert.Equal("success", revocation.GetProperty("outcome").GetString());
        Assert.Equal("access_token", revocation.GetProperty("token_type_hint").GetString());
    }
}
