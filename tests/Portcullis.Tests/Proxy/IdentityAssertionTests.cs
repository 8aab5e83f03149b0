using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Portcullis.Tests.Fapi;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>
/// <c>Token: assertion</c> routes (issue 20 item 3, ADR 0041): an upstream that does not speak OAuth gets a short-lived
/// JWT the gateway signed about the signed-in user, never a provider token, and verifies it the way such an upstream
/// would: keys from <c>/.well-known/portcullis/jwks</c>, <c>iss</c>, <c>aud</c>, lifetime and <c>typ</c>.
/// </summary>
public sealed class IdentityAssertionTests
{
    private const string AssertionHeader = "X-Portcullis-Assertion";

    [Fact]
    public async Task AnAssertionRouteSendsASignedShortLivedJwtAboutTheUserInsteadOfAnyTokenAndStripsForgedCopies()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await StartAsync(upstream, key);
        using var browser = new BrowserClient();
        var anonymous = await browser.GetAsync($"{stack.Origin}/api/reports/1", BrowserClient.Csrf);
        await browser.LoginAsync(stack.Origin);
        var user = JsonDocument.Parse((await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Body).RootElement;

        var response = await browser.SendAsync(HttpMethod.Get, $"{stack.Origin}/api/reports/1", null, new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            [AssertionHeader] = "forged-by-the-browser",
            ["Authorization"] = "Bearer forged-by-the-browser",
        });

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        var received = Assert.Single(upstream.Requests); // the anonymous call never reached it
        Assert.False(received.Headers.ContainsKey("Authorization"), "no provider token and no browser credential goes upstream");
        Assert.False(received.Headers.ContainsKey("Cookie"));
        var assertion = received.Headers[AssertionHeader];
        Assert.NotEqual("forged-by-the-browser", assertion);
        Assert.DoesNotContain(",", assertion, StringComparison.Ordinal); // one value: the forged copy was removed, not appended to
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, assertion, StringComparison.Ordinal));

        var jwks = await FetchJwksAsync(stack.Origin);
        var verified = await VerifyAsync(assertion, jwks, stack.Origin, audience: "reports");
        Assert.True(verified.IsValid, verified.Exception?.Message);
        var jwt = (JsonWebToken)verified.SecurityToken;
        Assert.Equal("portcullis-assertion+jwt", jwt.Typ);
        Assert.Equal("assertion-1", jwt.Kid);
        Assert.Equal(user.GetProperty("sub").GetString(), jwt.Subject);
        Assert.Equal("main", jwt.GetClaim("idp").Value);
        Assert.Equal("alice@example.com", jwt.GetClaim("email").Value);
        Assert.False(jwt.TryGetClaim("name_that_alice_lacks", out _));
        Assert.Equal(TimeSpan.FromSeconds(60), jwt.ValidTo - jwt.IssuedAt);
        Assert.Equal(jwt.IssuedAt, jwt.ValidFrom);
        Assert.False(string.IsNullOrEmpty(jwt.Id));

        // What an upstream's checks refuse: the assertion at another route's upstream, a copy whose claims were changed,
        // and one signed with another key under the gateway's kid.
        Assert.False((await VerifyAsync(assertion, jwks, stack.Origin, audience: "orders")).IsValid);
        Assert.False((await VerifyAsync(Tamper(assertion), jwks, stack.Origin, audience: "reports")).IsValid);
        using var attackerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.False((await VerifyAsync(SignLike(jwt, attackerKey), jwks, stack.Origin, audience: "reports")).IsValid);
    }

    [Fact]
    public async Task ACustomAssertionHeaderIsStrippedInEverySpellingTheBrowserSends()
    {
        // X-Portcullis-* is stripped on every route anyway; a custom name is not, so only the assertion route's own removal
        // keeps a forged copy (X_Reports_Identity reads as HTTP_X_REPORTS_IDENTITY in CGI-style servers) from the upstream.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await StartAsync(upstream, key, settings => settings["Portcullis:Apis:reports:AssertionHeader"] = "X-Reports-Identity");
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        var response = await browser.SendAsync(HttpMethod.Get, $"{stack.Origin}/api/reports/1", null, new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["X-Reports-Identity"] = "forged-by-the-browser",
            ["X_Reports_Identity"] = "forged-by-the-browser",
            ["x_reports-IDENTITY"] = "forged-by-the-browser",
        });

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var received = Assert.Single(upstream.Requests);
        var copies = received.Headers.Where(h => h.Key.Replace('_', '-').Equals("X-Reports-Identity", StringComparison.OrdinalIgnoreCase)).ToArray();
        var (name, value) = Assert.Single(copies);
        Assert.Equal("X-Reports-Identity", name, ignoreCase: true);
        Assert.DoesNotContain("forged", value, StringComparison.Ordinal);
        Assert.True((await VerifyAsync(value, await FetchJwksAsync(stack.Origin), stack.Origin, audience: "reports")).IsValid);
    }

    [Fact]
    public async Task EachRequestGetsItsOwnAssertionAndTheJwkSetHoldsOnlyPublicKeys()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await StartAsync(upstream, key);
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        await browser.GetAsync($"{stack.Origin}/api/reports/1", BrowserClient.Csrf);
        await browser.GetAsync($"{stack.Origin}/api/reports/2", BrowserClient.Csrf);
        using var http = new HttpClient();
        var jwksText = await http.GetStringAsync($"{stack.Origin}/.well-known/portcullis/jwks");

        var ids = upstream.Requests.Select(r => new JsonWebToken(r.Headers[AssertionHeader]).Id).ToList();
        Assert.Equal(2, ids.Distinct().Count());
        var served = Assert.Single(JsonDocument.Parse(jwksText).RootElement.GetProperty("keys").EnumerateArray());
        Assert.Equal("EC", served.GetProperty("kty").GetString());
        Assert.Equal(Base64UrlEncoder.Encode(key.ExportParameters(false).Q.X), served.GetProperty("x").GetString());
        Assert.False(served.TryGetProperty("d", out _));
        Assert.DoesNotContain(Base64UrlEncoder.Encode(key.ExportParameters(true).D), jwksText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAssertionRouteWithoutAKeyOrWithAnUnreadableOneStopsStartUpNamingTheKeyAndNeverPrintingIt()
    {
        var settings = PrivateKeyJwtTests.ValidSettings();
        settings["Portcullis:Apis:reports:Path"] = "/api/reports";
        settings["Portcullis:Apis:reports:Upstream"] = "http://127.0.0.1:9";
        settings["Portcullis:Apis:reports:Token"] = "assertion";
        settings["Portcullis:Apis:orders:Path"] = "/api/orders";
        settings["Portcullis:Apis:orders:Upstream"] = "http://127.0.0.1:9";
        settings["Portcullis:Apis:orders:AssertionClaims:0"] = "email";
        settings["Portcullis:Apis:framing:Path"] = "/api/framing";
        settings["Portcullis:Apis:framing:Upstream"] = "http://127.0.0.1:9";
        settings["Portcullis:Apis:framing:Token"] = "assertion";
        settings["Portcullis:Apis:framing:AssertionHeader"] = "Transfer-Encoding";

        var missing = await Assert.ThrowsAsync<OptionsValidationException>(() => PrivateKeyJwtTests.StartAsync(settings));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = key.ExportPkcs8PrivateKeyPem();
        var body = pem.Split('\n')[1];
        settings["Portcullis:Assertions:SigningKey"] = pem.Replace(body, new string('A', body.Length), StringComparison.Ordinal);
        settings["Portcullis:Assertions:SigningKeyId"] = "k1";
        settings.Remove("Portcullis:Apis:orders:AssertionClaims:0");
        settings.Remove("Portcullis:Apis:framing:AssertionHeader");
        var unreadable = await Assert.ThrowsAsync<OptionsValidationException>(() => PrivateKeyJwtTests.StartAsync(settings));

        Assert.Contains(missing.Failures, f => f.Contains("Portcullis:Apis:reports:Token 'assertion' needs Portcullis:Assertions:SigningKey", StringComparison.Ordinal));
        Assert.Contains(missing.Failures, f => f.Contains("Portcullis:Apis:orders: AssertionHeader and AssertionClaims apply only to Token 'assertion'", StringComparison.Ordinal));
        Assert.Contains(missing.Failures, f => f.StartsWith("Portcullis:Apis:framing:AssertionHeader 'Transfer-Encoding' must be", StringComparison.Ordinal));
        var failure = Assert.Single(unreadable.Failures);
        Assert.StartsWith("Portcullis:Assertions:SigningKey holds no usable private", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("AAAAAAAAAAAA", failure, StringComparison.Ordinal);
    }

    private static Task<TestStack> StartAsync(RecordingUpstream upstream, ECDsa key, Action<Dictionary<string, string?>>? adjust = null)
    {
        var keyFile = Path.Combine(Directory.CreateTempSubdirectory("portcullis-assertion-").FullName, "assertion.pem");
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return TestStack.StartAsync(adjust: settings =>
        {
            TestStack.OrdersRoute(upstream.Url)(settings);
            settings["Portcullis:Assertions:SigningKey"] = keyFile;
            settings["Portcullis:Assertions:SigningKeyId"] = "assertion-1";
            settings["Portcullis:Apis:reports:Path"] = "/api/reports";
            settings["Portcullis:Apis:reports:Upstream"] = upstream.Url;
            settings["Portcullis:Apis:reports:Token"] = "assertion";
            settings["Portcullis:Apis:reports:AssertionClaims:0"] = "email";
            settings["Portcullis:Apis:reports:AssertionClaims:1"] = "name_that_alice_lacks";
            adjust?.Invoke(settings);
        });
    }

    internal static async Task<JsonWebKeySet> FetchJwksAsync(string origin)
    {
        using var http = new HttpClient();
        return new JsonWebKeySet(await http.GetStringAsync($"{origin}/.well-known/portcullis/jwks"));
    }

    /// <summary>What a verifying upstream does: signature by the published keys, issuer, its own audience, lifetime and type.</summary>
    internal static Task<TokenValidationResult> VerifyAsync(string assertion, JsonWebKeySet jwks, string issuer, string audience) =>
        new JsonWebTokenHandler().ValidateTokenAsync(assertion, new TokenValidationParameters
        {
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidIssuer = issuer,
            ValidAudience = audience,
            ValidTypes = ["portcullis-assertion+jwt"],
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.Zero,
        });

    /// <summary>The same assertion with its subject replaced, the signature left as it was.</summary>
    private static string Tamper(string assertion)
    {
        var parts = assertion.Split('.');
        var payload = JsonDocument.Parse(Base64UrlEncoder.Decode(parts[1])).RootElement;
        var changed = payload.EnumerateObject().ToDictionary(p => p.Name, p => p.Name == "sub" ? JsonSerializer.SerializeToElement("someone-else") : p.Value);
        return $"{parts[0]}.{Base64UrlEncoder.Encode(JsonSerializer.Serialize(changed))}.{parts[2]}";
    }

    /// <summary>A token with the assertion's header and claims, signed by <paramref name="key"/> under the gateway's kid.</summary>
    private static string SignLike(JsonWebToken original, ECDsa key) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = original.Issuer,
            Audience = original.Audiences.Single(),
            IssuedAt = original.IssuedAt,
            NotBefore = original.ValidFrom,
            Expires = original.ValidTo,
            Claims = new Dictionary<string, object> { ["sub"] = original.Subject, ["idp"] = "main" },
            TokenType = original.Typ,
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key) { KeyId = original.Kid }, SecurityAlgorithms.EcdsaSha256),
        });
}
