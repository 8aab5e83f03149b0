using System.Net;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Portcullis.Agent;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Faults;

/// <summary>
/// The provider rolls its signing key over (<see cref="TestIdp.RotateSigningKeyAsync"/>): it signs with a new key under a
/// new <c>kid</c> and honours everything it issued before. The gateway has the old JWKS cached, and IdentityModel's
/// refresh request only starts a fetch in the background: the first token signed with the new key must still be
/// accepted, or a refresh (whose new ID token is checked) signs its user out and a login fails.
/// </summary>
public sealed class ProviderKeyRotationTests
{
    [Fact]
    public async Task AfterTheProviderRotatesItsSigningKeyTheFirstRefreshAndTheFirstLoginAreAccepted()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(clock: clock, adjust: TestStack.OrdersRoute(upstream.Url), persistentIdp: true);
        using var before = new BrowserClient();
        Assert.Equal(HttpStatusCode.OK, (await before.LoginAsync(stack.Origin)).Status);
        var oldKid = new JsonWebToken((await stack.Idp.TokensAsync()).Single().IdToken!).Kid;

        await stack.Idp.RotateSigningKeyAsync();

        // The session's refresh returns an ID token signed with the new key.
        clock.Advance(TimeSpan.FromSeconds(61)); // past the refresh point of the 120 s token
        var refreshed = await before.GetAsync($"{stack.Origin}/api/orders/after-rotation", BrowserClient.Csrf);
        var refresh = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.NotEqual(oldKid, new JsonWebToken(refresh.IdToken!).Kid);
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);
        Assert.Equal($"Bearer {refresh.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);

        // A new login's ID token too (the keys were read again within the last seconds: no second fetch needed).
        using var after = new BrowserClient();
        Assert.Equal(HttpStatusCode.OK, (await after.LoginAsync(stack.Origin)).Status);
        Assert.Equal(HttpStatusCode.OK, (await after.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.DoesNotContain("[1005]", stack.Gateway.Logs.All); // IdTokenRefused
    }

    /// <summary>
    /// The other side of reading the keys again: a caller cannot make the gateway fetch them per request by presenting
    /// tokens that name keys the provider never had. Twenty such bearer tokens cost at most one fetch of the gateway's own
    /// (plus the initial load and IdentityModel's background refresh); after the interval, one more.
    /// </summary>
    [Fact]
    public async Task TokensNamingKeysTheProviderNeverHadCostAtMostOneKeyFetchPerInterval()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(clock: clock, adjust: s =>
        {
            TestStack.OrdersRoute(upstream.Url)(s);
            s["Portcullis:Apis:orders:AcceptBearer"] = "true";
            s["Portcullis:Apis:orders:Provider"] = "main";
            s["Portcullis:Apis:orders:BearerAudiences:0"] = "orders";
        });
        using var http = new HttpClient();

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await PresentAsync(http, stack, TokenUnderAnUnknownKey(stack.Idp.Issuer)));
        }

        var afterBurst = await JwksFetchesAsync(stack.Idp);
        Assert.InRange(afterBurst, 1, 3);

        clock.Advance(ProviderRuntime.MetadataRefetchInterval + TimeSpan.FromSeconds(1));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await PresentAsync(http, stack, TokenUnderAnUnknownKey(stack.Idp.Issuer)));
        }

        // IdentityModel's own refresh of the first burst may land late, hence the range.
        Assert.InRange(await JwksFetchesAsync(stack.Idp) - afterBurst, 1, 2);
        Assert.Empty(upstream.Requests);
    }

    private static async Task<HttpStatusCode> PresentAsync(HttpClient http, TestStack stack, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{stack.Origin}/api/orders/forged");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<int> JwksFetchesAsync(TestIdp idp) => (await idp.EventsAsync("jwks")).Length;

    // One key pair for every forged token (making a 2048-bit key costs a loaded machine a good part of a second): each
    // token still names a kid of its own, which is what the gateway looks up.
    private static readonly System.Security.Cryptography.RSA ForgingKey = System.Security.Cryptography.RSA.Create(2048);

    /// <summary>A well-formed access token for the route, signed under a <c>kid</c> nobody published.</summary>
    private static string TokenUnderAnUnknownKey(string issuer)
    {
        var key = new RsaSecurityKey(ForgingKey) { KeyId = Guid.NewGuid().ToString("N") };
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = "orders",
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["sub"] = "someone", ["client_id"] = "cli", ["scope"] = "orders" },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
            TokenType = "at+jwt",
        });
    }
}
