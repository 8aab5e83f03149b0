using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Proxy;

namespace Portcullis.Tests.Fapi;

/// <summary>Issue 16, <c>Profile: fapi2</c>: the FAPI 2.0 settings together, and start-up refusing anything weaker.</summary>
public sealed class Fapi2ProfileTests
{
    private const string Provider = "Portcullis:Providers:main";

    /// <summary>oidc-provider configured FAPI 2.0 style at once: PAR required, DPoP nonces required, a private_key_jwt client.</summary>
    private static void Fapi2Provider(JsonObject config, int gatewayPort)
    {
        PushedAuthorizationTests.RequirePar(config, gatewayPort);
        DPoPTests.RequireDPoPNonce(config, gatewayPort);
        ClientKeys.Register(config, gatewayPort);
    }

    [Fact]
    public async Task AFullCycleAgainstAFapi2ProviderUsesParASignedClientJwtAndDPoPBoundTokensWithAValidProofOnEveryUpstreamCall()
    {
        using var keys = ClientKeys.Create();
        await using var api = await DPoPResourceServer.StartAsync();
        api.DemandNonce = true;
        await using var stack = await TestStack.StartAsync(
            adjust: s =>
            {
                keys.Configure(s);
                // Only the profile: PAR, private_key_jwt and DPoP come from it, not from their own keys.
                s.Remove($"{Provider}:ClientAuthentication");
                s[$"{Provider}:Profile"] = "fapi2";
                // oidc-provider keeps offline_access only with prompt=consent on pushed requests (see tests/idp/server.mjs).
                s[$"{Provider}:AuthorizationParameters:prompt"] = "consent";
                Routes.Add(s, "orders", "/api/orders", api.Url);
            },
            idpConfig: Fapi2Provider);
        using var browser = new BrowserClient();

        var landing = await browser.LoginAsync(stack.Origin, "alice");
        var beforeRefresh = await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf);
        // The API turns the first token away once (as if revoked upstream): the gateway refreshes and retries with the new one.
        api.RejectNextValid = 1;
        var acrossRefresh = await browser.GetAsync($"{stack.Origin}/api/orders/2", BrowserClient.Csrf);
        var afterRefresh = await browser.GetAsync($"{stack.Origin}/api/orders/3", BrowserClient.Csrf);
        var logout = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);
        await Eventually.RevocationsSentAsync(stack.Gateway);
        var afterLogout = await browser.GetAsync($"{stack.Origin}/api/orders/4", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, landing.Status);
        Assert.Equal(HttpStatusCode.OK, beforeRefresh.Status);
        Assert.Equal(HttpStatusCode.OK, acrossRefresh.Status);
        Assert.Equal(HttpStatusCode.OK, afterRefresh.Status);
        Assert.True(logout.Status is HttpStatusCode.OK or HttpStatusCode.NoContent, logout.Everything);
        Assert.Equal(HttpStatusCode.Unauthorized, afterLogout.Status);

        // PAR: the browser carried only client_id and request_uri; the provider saw one pushed request, signed-JWT authenticated.
        var toProvider = browser.Responses.First(r => r.Uri.AbsolutePath == "/bff/login").Headers["Location"];
        Assert.Equal(new[] { "client_id", "request_uri" }, QueryHelpers.ParseQuery(new Uri(toProvider).Query).Keys.Order().ToArray());
        var pushed = Assert.Single(await stack.Idp.EventsAsync("par"));
        AssertSignedJwtClient(pushed);

        // Token endpoint: code exchange and refresh, each authenticated by our assertion and carrying a DPoP proof.
        var tokenCalls = (await stack.Idp.EventsAsync("token")).Where(e => e.GetProperty("outcome").GetString() == "success").ToArray();
        Assert.Equal(new[] { "authorization_code", "refresh_token" }, tokenCalls.Select(e => e.GetProperty("grant_type").GetString()).ToArray());
        Assert.All(tokenCalls, call =>
        {
            AssertSignedJwtClient(call);
            Assert.True(call.GetProperty("dpop").GetBoolean());
        });
        Assert.Single(tokenCalls.Select(c => c.GetProperty("dpop_jkt").GetString()).Distinct());
        Assert.All(await stack.Idp.TokenTypesAsync(), type => Assert.Equal("DPoP", type));

        // The resource server: every token it was given came with a valid proof bound to that very token, the refreshed one too.
        var issued = await stack.Idp.TokensAsync();
        var first = DPoPResourceServer.Hash(issued.Single(t => t.GrantType == "authorization_code").AccessToken!);
        var refreshed = DPoPResourceServer.Hash(issued.Single(t => t.GrantType == "refresh_token").AccessToken!);
        var verdicts = api.Verdicts.ToArray();
        Assert.All(verdicts, v => Assert.Equal("DPoP", v.Scheme));
        Assert.All(verdicts, v => Assert.Contains(v.Problem, new[] { null, "use_dpop_nonce", "rejected on purpose" }));
        var accepted = verdicts.Where(v => v.Problem is null).ToArray();
        Assert.Equal(new[] { "/api/orders/1", "/api/orders/2", "/api/orders/3" }, accepted.Select(v => v.Path).ToArray());
        Assert.Equal(new[] { first, refreshed, refreshed }, accepted.Select(v => v.TokenSha256).ToArray());
        Assert.Single(verdicts.Select(v => v.Thumbprint).Distinct());

        // Logout: the current refresh token revoked at the provider, with the signed JWT as the client's credential.
        var revocation = Assert.Single(await stack.Idp.EventsAsync("revocation"), r => r.GetProperty("token_type_hint").GetString() == "refresh_token");
        AssertSignedJwtClient(revocation);
        Assert.Equal(DPoPResourceServer.Hash(issued.Single(t => t.GrantType == "refresh_token").RefreshToken!), revocation.GetProperty("token_sha256").GetString());
    }

    [Fact]
    public async Task AnAbsentSettingTakesTheProfilesValueSoPrivateKeyJwtAsksForItsKeyNotASecret()
    {
        var settings = PrivateKeyJwtTests.ValidSettings();
        settings.Remove($"{Provider}:ClientSecret");
        settings[$"{Provider}:Profile"] = "fapi2";

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => PrivateKeyJwtTests.StartAsync(settings));

        Assert.Contains(exception.Failures, f => f.StartsWith($"{Provider}:ClientSigningKey is required", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith($"{Provider}:ClientSigningKeyId is required", StringComparison.Ordinal));
        // Nothing else is wrong: PAR and DPoP took the profile's values without being named.
        Assert.Equal(2, exception.Failures.Count());
    }

    [Fact]
    public async Task AWeakerSettingUnderFapi2StopsStartUpWithOneMessageNamingEachKey()
    {
        var settings = PrivateKeyJwtTests.ValidSettings();
        settings[$"{Provider}:Profile"] = "fapi2";
        settings[$"{Provider}:ClientAuthentication"] = "client_secret_basic";
        settings[$"{Provider}:PushedAuthorization"] = "Auto";
        settings[$"{Provider}:DPoP"] = "false";
        settings[$"{Provider}:AllowInsecureTransport"] = "true";

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => PrivateKeyJwtTests.StartAsync(settings));

        var failures = exception.Failures.ToArray();
        Assert.Contains($"{Provider}:ClientAuthentication must be 'private_key_jwt' under {Provider}:Profile 'fapi2' (got 'client_secret_basic')", exception.Message, StringComparison.Ordinal);
        Assert.Contains(failures, f => f.StartsWith($"{Provider}:PushedAuthorization must be 'Require' under {Provider}:Profile 'fapi2' (got 'Auto')", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith($"{Provider}:DPoP must be 'true' under {Provider}:Profile 'fapi2' (got 'false')", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith($"{Provider}:AllowInsecureTransport must not be true under {Provider}:Profile 'fapi2'", StringComparison.Ordinal));
        Assert.Equal(4, failures.Length);
        Assert.DoesNotContain("bff-secret", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PushedAuthorization", "Never")]
    [InlineData("ClientAuthentication", "client_secret_post")]
    [InlineData("DPoP", "false")]
    public async Task EachWeakerSettingAloneIsRefusedNamingItsKey(string setting, string value)
    {
        using var keys = ClientKeys.Create();
        var settings = PrivateKeyJwtTests.ValidSettings();
        keys.Configure(settings);
        settings.Remove($"{Provider}:ClientAuthentication");
        settings[$"{Provider}:Profile"] = "fapi2";
        settings[$"{Provider}:{setting}"] = value;
        if (setting == "ClientAuthentication")
        {
            settings[$"{Provider}:ClientSecret"] = "bff-secret";
        }

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => PrivateKeyJwtTests.StartAsync(settings));

        var failure = Assert.Single(exception.Failures);
        Assert.StartsWith($"{Provider}:{setting} must be ", failure, StringComparison.Ordinal);
        Assert.Contains($"(got '{value}')", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Profile", "fapi1", "Profile 'fapi1' is unknown; supported: fapi2")]
    [InlineData("Kind", "github", "Profile 'fapi2' applies only to Kind 'oidc' (got 'github')")]
    public async Task AnUnknownProfileOrAPresetUnderFapi2IsRefusedNamingTheKey(string setting, string value, string expected)
    {
        using var keys = ClientKeys.Create();
        var settings = PrivateKeyJwtTests.ValidSettings();
        keys.Configure(settings);
        settings.Remove($"{Provider}:ClientAuthentication");
        settings[$"{Provider}:Profile"] = "fapi2";
        settings[$"{Provider}:{setting}"] = value;

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => PrivateKeyJwtTests.StartAsync(settings));

        Assert.Contains(exception.Failures, f => f == $"{Provider}:{expected}.");
    }

    [Fact]
    public async Task AProviderThatCannotDoFapi2StopsStartUpNamingWhatItLacks()
    {
        using var keys = ClientKeys.Create();
        // The default test provider has PAR off; here DPoP is off as well, so it advertises no proof algorithms.
        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => TestStack.StartAsync(
            adjust: s =>
            {
                keys.Configure(s);
                s[$"{Provider}:Profile"] = "fapi2";
            },
            idpConfig: (config, port) =>
            {
                ClientKeys.Register(config, port);
                config["features"] = new JsonObject { ["dPoP"] = new JsonObject { ["enabled"] = false } };
            }));

        Assert.Contains($"{Provider}:PushedAuthorization is 'Require' but the provider's discovery document advertises no pushed_authorization_request_endpoint.", exception.Message, StringComparison.Ordinal);
        Assert.Contains($"{Provider}:Profile is 'fapi2' but the provider's discovery document's dpop_signing_alg_values_supported lacks ES256.", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("code_challenge_methods_supported", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("authorization_response_iss_parameter_supported", exception.Message, StringComparison.Ordinal);
    }

    private static void AssertSignedJwtClient(System.Text.Json.JsonElement call)
    {
        Assert.Equal("success", call.GetProperty("outcome").GetString());
        Assert.Equal("private_key_jwt", call.GetProperty("client_auth").GetString());
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", call.GetProperty("client_assertion_type").GetString());
        Assert.Equal("ES256", call.GetProperty("client_assertion_alg").GetString());
        Assert.Equal(ClientKeys.CurrentKeyId, call.GetProperty("client_assertion_kid").GetString());
    }
}
