using System.Net;
using System.Text.Json;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Lifecycle;

/// <summary><c>GET /bff/sessions</c>, <c>DELETE /bff/sessions/{handle}</c> and the expiries <c>/bff/user</c> reports.</summary>
public sealed class SessionManagementTests
{
    [Fact]
    public async Task UsersSeeAndEndOnlyTheirOwnSessionsAndNothingListedWorksAsACookie()
    {
        await using var stack = await TestStack.StartAsync();
        using var laptop = new BrowserClient();
        using var phone = new BrowserClient();
        using var bob = new BrowserClient();
        await laptop.LoginAsync(stack.Origin, "alice");
        await phone.LoginAsync(stack.Origin, "alice");
        await bob.LoginAsync(stack.Origin, "bob");

        var listing = await laptop.GetAsync($"{stack.Origin}/bff/sessions", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, listing.Status);
        using var json = JsonDocument.Parse(listing.Body);
        var sessions = json.RootElement.EnumerateArray().ToArray();
        Assert.Equal(2, sessions.Length);
        Assert.Single(sessions, s => s.GetProperty("current").GetBoolean());
        Assert.All(sessions, s =>
        {
            Assert.Equal("main", s.GetProperty("provider").GetString());
            Assert.True(s.GetProperty("lastSeenAt").GetDateTimeOffset() <= s.GetProperty("expiresAt").GetDateTimeOffset());
            Assert.True(s.GetProperty("expiresAt").GetDateTimeOffset() <= s.GetProperty("absoluteExpiresAt").GetDateTimeOffset());
        });
        foreach (var browser in new[] { laptop, phone, bob })
        {
            Assert.DoesNotContain(browser.CookiesFor("localhost")["__Host-portcullis"], listing.Body);
        }

        // A listed handle is not a credential.
        var phoneHandle = sessions.Single(s => !s.GetProperty("current").GetBoolean()).GetProperty("handle").GetString()!;
        using var forger = new BrowserClient();
        forger.CookiesFor("localhost")["__Host-portcullis"] = phoneHandle;
        Assert.Equal(HttpStatusCode.Unauthorized, (await forger.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);

        // Alice cannot end Bob's session; a missing CSRF header changes nothing either.
        var bobHandle = JsonDocument.Parse((await bob.GetAsync($"{stack.Origin}/bff/sessions", BrowserClient.Csrf)).Body)
            .RootElement[0].GetProperty("handle").GetString()!;
        Assert.Equal(HttpStatusCode.NotFound, (await laptop.SendAsync(HttpMethod.Delete, $"{stack.Origin}/bff/sessions/{bobHandle}", null, BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await laptop.SendAsync(HttpMethod.Delete, $"{stack.Origin}/bff/sessions/{phoneHandle}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.OK, (await phone.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);

        var ended = await laptop.SendAsync(HttpMethod.Delete, $"{stack.Origin}/bff/sessions/{phoneHandle}", null, BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.NoContent, ended.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.OK, (await laptop.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        // The laptop still uses the grant, so nothing was revoked at the provider beyond the token the second login superseded.
        await Eventually.RevocationsSentAsync(stack.Gateway);
        Assert.Single(await stack.Idp.EventsAsync("revocation"));
    }

    [Fact]
    public async Task UserReportsTheSlidingAndTheAbsoluteExpiry()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(
            adjust: s => { s["Portcullis:Session:IdleTimeout"] = "00:10:00"; s["Portcullis:Session:AbsoluteTimeout"] = "00:25:00"; },
            configure: b => Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<TimeProvider>(b.Services, clock));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var start = clock.GetUtcNow();

        var first = await SessionInfoAsync(browser, stack);
        clock.Advance(TimeSpan.FromMinutes(9));
        var slid = await SessionInfoAsync(browser, stack);
        clock.Advance(TimeSpan.FromMinutes(9));
        var capped = await SessionInfoAsync(browser, stack);

        AssertNear(start + TimeSpan.FromMinutes(10), first.GetProperty("expiresAt").GetDateTimeOffset());
        AssertNear(start + TimeSpan.FromMinutes(25), first.GetProperty("absoluteExpiresAt").GetDateTimeOffset());
        AssertNear(start + TimeSpan.FromMinutes(19), slid.GetProperty("expiresAt").GetDateTimeOffset());
        AssertNear(start + TimeSpan.FromMinutes(25), capped.GetProperty("expiresAt").GetDateTimeOffset()); // never past the absolute expiry
        AssertNear(start + TimeSpan.FromMinutes(25), capped.GetProperty("absoluteExpiresAt").GetDateTimeOffset());
    }

    private static async Task<JsonElement> SessionInfoAsync(BrowserClient browser, TestStack stack)
    {
        var response = await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        return JsonDocument.Parse(response.Body).RootElement.GetProperty("session").Clone();
    }

    private static void AssertNear(DateTimeOffset expected, DateTimeOffset actual) =>
        Assert.InRange(actual, expected - TimeSpan.FromSeconds(5), expected + TimeSpan.FromSeconds(5));
}
