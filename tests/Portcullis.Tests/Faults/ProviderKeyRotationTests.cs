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
    /// The provider rotates its key within <see cref="ProviderRuntime.MetadataRefetchInterval"/> of the gateway's last read
    /// of its keys (here prompted by a token naming an unknown key, which anyone can send), so the first refreshed ID token
    /// under the new key cannot be checked yet. The refresh token is already spent: the refreshed tokens are used, the
    /// session keeps the login's ID token, and the next refresh, after the interval, brings one that is checked and
    /// stored. Before, the grant ended and the user was signed out.
    /// </summary>
    [Theory]
    [InlineData("server")]
    [InlineData("stateless")]
    public async Task ARefreshedIdTokenUnderAKeyTheGatewayCannotReadYetKeepsTheUserSignedIn(string mode)
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(clock: clock, persistentIdp: true, adjust: s =>
        {
            BearerAndOrdersRoute(upstream.Url)(s);
            if (mode == "stateless")
            {
                Portcullis.Tests.Sessions.StatelessSessionTests.Stateless(upstream.Url)(s);
            }
        });
        using var alice = new BrowserClient();
        Assert.Equal(HttpStatusCode.OK, (await alice.LoginAsync(stack.Origin)).Status);
        var loginIdToken = (await stack.Idp.TokensAsync()).Single().IdToken;

        clock.Advance(TimeSpan.FromSeconds(61)); // past the refresh point of the 120 s token
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.Unauthorized, await PresentAsync(http, stack, TokenUnderAnUnknownKey(stack.Idp.Issuer)));
        // The login's read, the gateway's own, and IdentityModel's background refresh that the gateway's read requests:
        // all before the rotation, so none of them can see the new key.
        await Eventually.Until(() => JwksFetchesAsync(stack.Idp), fetches => fetches >= 3, "the keys to be read again");
        await stack.Idp.RotateSigningKeyAsync();

        var first = await alice.GetAsync($"{stack.Origin}/api/orders/after-rotation", BrowserClient.Csrf);
        var refresh = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal($"Bearer {refresh.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.Contains("[1007]", stack.Gateway.Logs.All); // RefreshedIdTokenUnverifiable
        Assert.Equal(loginIdToken, await StoredIdTokenAsync(stack, mode, alice));

        clock.Advance(TimeSpan.FromSeconds(61)); // past the interval, and the refreshed token's refresh point
        var second = await alice.GetAsync($"{stack.Origin}/api/orders/next-refresh", BrowserClient.Csrf);
        var refreshes = (await stack.Idp.TokensAsync()).Where(t => t.GrantType == "refresh_token").ToArray();
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(2, refreshes.Length);
        Assert.Equal($"Bearer {refreshes[1].AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.Equal(refreshes[1].IdToken, await StoredIdTokenAsync(stack, mode, alice));
        Assert.Single(stack.Gateway.Logs.Lines, l => l.Contains("[1007]", StringComparison.Ordinal));
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
        await using var stack = await TestStack.StartAsync(clock: clock, adjust: BearerAndOrdersRoute(upstream.Url));
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

    /// <summary>The orders route, which also takes bearer tokens for the <c>orders</c> audience from the provider.</summary>
    private static Action<Dictionary<string, string?>> BearerAndOrdersRoute(string upstreamUrl) => s =>
    {
        TestStack.OrdersRoute(upstreamUrl)(s);
        s["Portcullis:Apis:orders:AcceptBearer"] = "true";
        s["Portcullis:Apis:orders:Provider"] = "main";
        s["Portcullis:Apis:orders:BearerAudiences:0"] = "orders";
    };

    /// <summary>The ID token the gateway keeps for the only session: in the grant, or sealed in the stateless session cookie.</summary>
    private static async Task<string?> StoredIdTokenAsync(TestStack stack, string mode, BrowserClient browser)
    {
        if (mode == "stateless")
        {
            var codec = stack.Gateway.Get<Portcullis.Sessions.StatelessCookieCodec>();
            var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
            context.Request.Headers.Cookie = string.Join("; ", browser.CookiesFor("localhost").Select(c => $"{c.Key}={c.Value}"));
            const string name = "__Host-portcullis";
            return codec.Open(name, codec.Read(context, name), Portcullis.Sessions.StatelessJsonContext.Default.StatelessSessionPayload)?.Tokens.IdToken;
        }

        var grantId = (string)(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM grants")).Single()[0]!;
        var grant = await stack.Gateway.Get<Portcullis.Storage.IGrantStore>().GetGrantAsync(grantId, default);
        return stack.Gateway.Get<Portcullis.Tokens.GrantService>().ReadTokens(grant)!.IdToken;
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
