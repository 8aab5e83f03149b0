using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Portcullis.Audit;
using Portcullis.Storage;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Lifecycle;

/// <summary>OpenID Connect Back-Channel Logout 1.0 against oidc-provider, and forged logout tokens as attacks.</summary>
public sealed class BackchannelLogoutTests
{
    private const string LogoutEvent = "http://schemas.openid.net/event/backchannel-logout";

    [Fact]
    public async Task ARealBackchannelLogoutFromTheProviderEndsThatUsersSessions()
    {
        await using var stack = await TestStack.StartAsync();
        using var alice = new BrowserClient();
        using var bob = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        await bob.LoginAsync(stack.Origin, "bob");

        var delivery = await stack.Idp.SendBackchannelLogoutAsync("alice");

        Assert.Equal("success", delivery.GetProperty("deliveries")[0].GetProperty("outcome").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions"));
        var entry = Assert.Single(await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.BackchannelLogout)));
        Assert.Equal(AuditOutcomes.Success, entry.Outcome);
    }

    public static TheoryData<string> Forgeries() => ["wrong-aud", "wrong-iss", "nonce", "no-events", "no-sid-no-sub", "old-iat", "no-jti", "bad-signature", "unsigned", "id-token-typ"];

    [Theory]
    [MemberData(nameof(Forgeries))]
    public async Task AForgedLogoutTokenIsRefusedAndChangesNothing(string forgery)
    {
        await using var stack = await TestStack.StartAsync();
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        var sid = (string)(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT provider_sid FROM sessions")).Single()[0]!;
        var claims = ValidClaims(stack, sid);
        var header = new Dictionary<string, object> { ["typ"] = "logout+jwt" };
        switch (forgery)
        {
            case "wrong-aud": claims["aud"] = "another-client"; break;
            case "wrong-iss": claims["iss"] = "http://127.0.0.1:1/"; break;
            case "nonce": claims["nonce"] = "n-0S6_WzA2Mj"; break;
            case "no-events": claims.Remove("events"); break;
            case "no-sid-no-sub": claims.Remove("sid"); claims.Remove("sub"); break;
            case "old-iat": claims["iat"] = DateTimeOffset.UtcNow.AddMinutes(-30).ToUnixTimeSeconds(); claims["exp"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds(); break;
            case "no-jti": claims.Remove("jti"); break;
            case "id-token-typ": header["typ"] = "id_token+jwt"; break;
        }

        var token = forgery switch
        {
            "bad-signature" => SignWithForeignKey(claims),
            "unsigned" => Unsigned(claims),
            _ => await stack.Idp.SignAsync(claims, header),
        };
        var response = await PostLogoutTokenAsync(stack.Origin, token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"error\":\"invalid_request\"", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions"));
        var entry = Assert.Single(await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.BackchannelLogout)));
        Assert.Equal(AuditOutcomes.Refused, entry.Outcome);
    }

    [Fact]
    public async Task AReplayedLogoutTokenIsRefusedAndDoesNotEndTheNextSession()
    {
        await using var stack = await TestStack.StartAsync();
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        var sid = (string)(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT provider_sid FROM sessions")).Single()[0]!;
        var token = await stack.Idp.SignAsync(ValidClaims(stack, sid), new { typ = "logout+jwt" });

        Assert.Equal(HttpStatusCode.OK, (await PostLogoutTokenAsync(stack.Origin, token)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);

        // Alice signs in again in the same provider session (same sid); the captured token must not end it.
        await alice.LoginAsync(stack.Origin, "alice");
        var replay = await PostLogoutTokenAsync(stack.Origin, token);

        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Contains(await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.BackchannelLogout)), e => e.Detail == "jti was already used");
    }

    [Fact]
    public async Task MalformedRequestsGet400JsonNeverAServerError()
    {
        await using var stack = await TestStack.StartAsync();
        using var http = new HttpClient();
        var bodies = new HttpContent[]
        {
            new FormUrlEncodedContent(new Dictionary<string, string>()),
            new FormUrlEncodedContent(new Dictionary<string, string> { ["logout_token"] = "not-a-jwt" }),
            new FormUrlEncodedContent(new Dictionary<string, string> { ["logout_token"] = "a.b.c" }),
            new StringContent("{\"logout_token\":\"x\"}", Encoding.UTF8, "application/json"),
        };
        foreach (var body in bodies)
        {
            using var response = await http.PostAsync($"{stack.Origin}/bff/backchannel-logout/main", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        using var unknown = await http.PostAsync($"{stack.Origin}/bff/backchannel-logout/nope", new FormUrlEncodedContent(new Dictionary<string, string>()));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
    }

    [Fact]
    public async Task AValidLogoutTokenInAnyBodyButASmallUrlEncodedFormIsNotReadAndEndsNothing()
    {
        await using var stack = await TestStack.StartAsync();
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        var sid = (string)(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT provider_sid FROM sessions")).Single()[0]!;
        var token = await stack.Idp.SignAsync(ValidClaims(stack, sid), new { typ = "logout+jwt" });
        var padding = new string('a', 20_000);
        using var http = new HttpClient();
        var url = $"{stack.Origin}/bff/backchannel-logout/main";

        using var multipart = new MultipartFormDataContent { { new StringContent(token), "logout_token" } };
        using var asMultipart = await http.PostAsync(url, multipart);
        using var asJson = await http.PostAsync(url, new StringContent($"{{\"logout_token\":\"{token}\"}}", Encoding.UTF8, "application/json"));
        // Declared length over the limit, and the same without a declared length (chunked): both 413, neither read.
        using var declared = await http.PostAsync(url, new StringContent($"logout_token={token}&pad={padding}", Encoding.UTF8, "application/x-www-form-urlencoded"));
        using var chunked = await http.PostAsync(url, Chunked($"logout_token={token}&pad={padding}"));

        Assert.Equal(HttpStatusCode.BadRequest, asMultipart.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, asJson.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunked.StatusCode);
        Assert.Contains("\"error\":\"invalid_request\"", await chunked.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        var refusals = (await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.BackchannelLogout))).Select(e => e.Detail).ToList();
        Assert.Equal(2, refusals.Count(d => d == "the body is not application/x-www-form-urlencoded"));
        Assert.Equal(2, refusals.Count(d => d!.StartsWith("the body is larger than", StringComparison.Ordinal)));

        // The token itself was good: the same token in a small form ends the session.
        Assert.Equal(HttpStatusCode.OK, (await PostLogoutTokenAsync(stack.Origin, token)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Fact]
    public async Task AFloodOfLogoutRequestsFromOneAddressGets429()
    {
        await using var stack = await TestStack.StartAsync(adjust: s => s["Portcullis:RateLimit:BackchannelLogoutPerMinute"] = "3");
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        var sid = (string)(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT provider_sid FROM sessions")).Single()[0]!;

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            statuses.Add((await PostLogoutTokenAsync(stack.Origin, "a.b.c")).StatusCode);
        }

        // Over the limit even a valid token is not looked at.
        var valid = await stack.Idp.SignAsync(ValidClaims(stack, sid), new { typ = "logout+jwt" });
        using var limited = await PostLogoutTokenAsync(stack.Origin, valid);

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.BadRequest, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("60", limited.Headers.RetryAfter?.ToString());
        Assert.Contains("\"error\":\"rate_limited\"", await limited.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(3, (await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.BackchannelLogout))).Count);
    }

    private static HttpContent Chunked(string form) => new ChunkedContent(Encoding.ASCII.GetBytes(form), "application/x-www-form-urlencoded");

    /// <summary>A body of unknown length, so HttpClient sends it chunked (no Content-Length for the gateway to check).</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly byte[] _bytes;

        public ChunkedContent(byte[] bytes, string mediaType)
        {
            _bytes = bytes;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>A valid logout token's claims for alice; without <paramref name="sid"/>, about every session of hers.</summary>
    internal static Dictionary<string, object> ValidClaims(TestStack stack, string? sid)
    {
        var claims = new Dictionary<string, object>
        {
            ["iss"] = stack.Idp.Issuer,
            ["aud"] = TestIdp.ClientId,
            ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["exp"] = DateTimeOffset.UtcNow.AddMinutes(2).ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["sub"] = "alice",
            ["events"] = new Dictionary<string, object> { [LogoutEvent] = new Dictionary<string, object>() },
        };
        if (sid is not null)
        {
            claims["sid"] = sid;
        }

        return claims;
    }

    internal static async Task<HttpResponseMessage> PostLogoutTokenAsync(string origin, string token)
    {
        using var http = new HttpClient();
        return await http.PostAsync(
            $"{origin}/bff/backchannel-logout/main",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["logout_token"] = token }));
    }

    private static string SignWithForeignKey(Dictionary<string, object> claims)
    {
        using var rsa = RSA.Create(2048);
        var input = $"{Encode(new { alg = "RS256", typ = "logout+jwt" })}.{Encode(claims)}";
        var signature = rsa.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{input}.{Base64Url(signature)}";
    }

    private static string Unsigned(Dictionary<string, object> claims) => $"{Encode(new { alg = "none", typ = "logout+jwt" })}.{Encode(claims)}.";

    private static string Encode(object value) => Base64Url(JsonSerializer.SerializeToUtf8Bytes(value));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
