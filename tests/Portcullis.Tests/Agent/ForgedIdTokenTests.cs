using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Agent;

/// <summary>
/// Issue 17 item 11 (SECURITY.md item 13): a login whose token response carries a forged ID token is refused with a
/// readable page and creates nothing. The real provider answers the real exchange; only the id_token is replaced, so
/// each forgery differs from a valid token in exactly the way its name says.
/// </summary>
public sealed class ForgedIdTokenTests(ForgedIdTokenTests.TwoProviders world) : IClassFixture<ForgedIdTokenTests.TwoProviders>
{
    /// <summary>The gateway trusts two providers; <c>other</c> is the one whose key mints the mix-up token.</summary>
    public sealed class TwoProviders : IAsyncLifetime
    {
        public TestIdp Other { get; private set; } = null!;

        public TestStack Stack { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Other = await TestIdp.StartAsync(["http://localhost:1"]);
            Stack = await TestStack.StartAsync(adjust: s =>
            {
                s["Portcullis:Providers:other:Authority"] = Other.Issuer;
                s["Portcullis:Providers:other:ClientId"] = TestIdp.ClientId;
                s["Portcullis:Providers:other:ClientSecret"] = TestIdp.ClientSecret;
            });
        }

        public async Task DisposeAsync()
        {
            await Stack.DisposeAsync();
            await Other.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("bad-signature")]
    [InlineData("alg-none")]
    [InlineData("hs256-with-public-key")]
    [InlineData("wrong-iss")]
    [InlineData("wrong-aud")]
    [InlineData("wrong-azp")]
    [InlineData("wrong-nonce")]
    [InlineData("expired")]
    [InlineData("future-iat")]
    [InlineData("auth-time-in-milliseconds")]
    [InlineData("foreign")]
    public async Task ALoginWithAForgedIdTokenIsRefusedAndCreatesNoSession(string forgery)
    {
        var stack = world.Stack;
        var sessionsBefore = (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions")).Count;
        var usersBefore = (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Count;
        await stack.Idp.ForgeNextIdTokenAsync(forgery, forgery == "foreign" ? await world.Other.SigningKeyAsync() : null);
        using var browser = new BrowserClient();

        var callback = await LoginAtMainAsync(browser, stack.Origin);

        Assert.Contains(await stack.Idp.EventsAsync("forged_id_token"), e => e.GetProperty("mode").GetString() == forgery);
        Assert.Equal(HttpStatusCode.BadRequest, callback.Status);
        Assert.Contains("could not be verified", callback.Body);
        Assert.DoesNotContain(browser.CookiesFor("localhost").Keys, name => name == "__Host-portcullis");
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(sessionsBefore, (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions")).Count);
        Assert.Equal(usersBefore, (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Count);
        Assert.Contains("ID token from provider main refused", stack.Gateway.Logs.All);
    }

    [Fact]
    public async Task TheSameLoginWithoutAForgerySucceeds()
    {
        using var browser = new BrowserClient();

        var callback = await LoginAtMainAsync(browser, world.Stack.Origin);

        Assert.True(callback.IsRedirect || callback.Status == HttpStatusCode.OK, callback.Everything);

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{world.Stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    private static async Task<RecordedResponse> LoginAtMainAsync(BrowserClient browser, string origin) =>
        await browser.GetAsync(await browser.AuthorizeAtProviderAsync($"{origin}/bff/login?provider=main&returnUrl=%2F", "bob"));
}
