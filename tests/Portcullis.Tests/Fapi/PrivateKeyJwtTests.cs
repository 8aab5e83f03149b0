using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Portcullis.Gateway;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Proxy;

namespace Portcullis.Tests.Fapi;

/// <summary>Issue 16 item 1: <c>private_key_jwt</c> (RFC 7523) on every call that authenticates the client.</summary>
public sealed class PrivateKeyJwtTests
{
    [Fact]
    public async Task CodeExchangeRefreshClientCredentialsAndRevocationAreAuthenticatedByASignedJwtAndNoSecret()
    {
        using var keys = ClientKeys.Create();
        // The API rejects the first token once: the gateway refreshes and retries.
        var rejectFirst = 1;
        await using var upstream = await ProxyUpstream.StartAsync(async (context, _) =>
        {
            if (context.Request.Path.StartsWithSegments("/api/orders") && Interlocked.Exchange(ref rejectFirst, 0) == 1)
            {
                context.Response.StatusCode = 401;
                return;
            }

            await context.Response.WriteAsync("ok");
        });
        await using var stack = await TestStack.StartAsync(
            adjust: s =>
            {
                keys.Configure(s);
                Routes.Add(s, "orders", "/api/orders", upstream.Url);
                Routes.Add(s, "inventory", "/api/inventory", upstream.Url, "client");
            },
            idpConfig: ClientKeys.Register);
        using var browser = new BrowserClient();

        var landing = await browser.LoginAsync(stack.Origin, "alice");
        var orders = await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf);
        var inventory = await browser.GetAsync($"{stack.Origin}/api/inventory/1", BrowserClient.Csrf);
        var logout = await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);
        await Eventually.RevocationsSentAsync(stack.Gateway);

        Assert.Equal(HttpStatusCode.OK, landing.Status);
        Assert.Equal(HttpStatusCode.OK, orders.Status);
        Assert.Equal(HttpStatusCode.OK, inventory.Status);
        Assert.True(logout.Status is HttpStatusCode.OK or HttpStatusCode.NoContent, logout.Everything);
        var tokenCalls = await stack.Idp.EventsAsync("token");
        Assert.Equal(
            new[] { "authorization_code", "client_credentials", "refresh_token" },
            tokenCalls.Select(e => e.GetProperty("grant_type").GetString()).Order().ToArray());
        var revocations = await stack.Idp.EventsAsync("revocation");
        Assert.NotEmpty(revocations);
        // The provider's own record: each call succeeded and was authenticated by our ES256 assertion under the current kid.
        Assert.All(tokenCalls.Concat(revocations), call =>
        {
            Assert.Equal("success", call.GetProperty("outcome").GetString());
            Assert.Equal("private_key_jwt", call.GetProperty("client_auth").GetString());
            Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", call.GetProperty("client_assertion_type").GetString());
            Assert.Equal("ES256", call.GetProperty("client_assertion_alg").GetString());
            Assert.Equal(ClientKeys.CurrentKeyId, call.GetProperty("client_assertion_kid").GetString());
        });
    }

    [Fact]
    public async Task TheJwksEndpointServesBothPublicKeysAndNoPrivateMember()
    {
        using var keys = ClientKeys.Create();
        await using var stack = await TestStack.StartAsync(adjust: s => keys.Configure(s), idpConfig: ClientKeys.Register);
        using var http = new HttpClient();

        using var response = await http.GetAsync($"{stack.Origin}/bff/jwks/main");
        using var unknown = await http.GetAsync($"{stack.Origin}/bff/jwks/nobody");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/jwk-set+json", response.Content.Headers.ContentType?.MediaType);
        using var set = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var served = set.RootElement.GetProperty("keys").EnumerateArray().ToArray();
        Assert.Equal(2, served.Length);
        var ec = keys.Current.ExportParameters(false);
        Assert.Equal(ClientKeys.CurrentKeyId, served[0].GetProperty("kid").GetString());
        Assert.Equal("ES256", served[0].GetProperty("alg").GetString());
        Assert.Equal(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(ec.Q.X), served[0].GetProperty("x").GetString());
        Assert.Equal(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(ec.Q.Y), served[0].GetProperty("y").GetString());
        Assert.Equal(ClientKeys.NextKeyId, served[1].GetProperty("kid").GetString());
        Assert.Equal("PS256", served[1].GetProperty("alg").GetString());
        Assert.Equal(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(keys.Next.ExportParameters(false).Modulus), served[1].GetProperty("n").GetString());
        Assert.All(served, key => Assert.All(new[] { "d", "p", "q", "dp", "dq", "qi" }, member => Assert.False(key.TryGetProperty(member, out _), member)));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("not_found", JsonDocument.Parse(await unknown.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task AMissingOrUnreadableSigningKeyStopsStartUpNamingTheKeyAndNeverPrintingIt()
    {
        using var keys = ClientKeys.Create();
        var pem = await File.ReadAllTextAsync(keys.CurrentPemPath);
        // A damaged key given as a value: its text must not come back in the message.
        var damaged = pem.Replace(pem.Split('\n')[2], new string('A', pem.Split('\n')[2].Length), StringComparison.Ordinal);
        var settings = ValidSettings();
        keys.Configure(settings);
        settings["Portcullis:Providers:main:ClientSigningKey"] = damaged;
        settings["Portcullis:Providers:main:NextClientSigningKey"] = Path.Combine(keys.Directory, "no-such-key.pem");

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(settings));

        var message = string.Join('\n', exception.Failures);
        Assert.Contains(exception.Failures, f => f.StartsWith("Portcullis:Providers:main:ClientSigningKey ", StringComparison.Ordinal) && f.Contains("no usable private", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("Portcullis:Providers:main:NextClientSigningKey ", StringComparison.Ordinal) && f.Contains("readable file", StringComparison.Ordinal));
        foreach (var line in pem.Split('\n').Where(l => l.Length > 8 && !l.StartsWith("-----", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain(line, message, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("AAAAAAAAAAAA", message, StringComparison.Ordinal);
        Assert.DoesNotContain(keys.NextJwk, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrivateKeyJwtWithoutAKeyOrKeyIdIsRefusedNamingEachKey()
    {
        var settings = ValidSettings();
        settings.Remove("Portcullis:Providers:main:ClientSecret");
        settings["Portcullis:Providers:main:ClientAuthentication"] = "private_key_jwt";

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(settings));

        Assert.Contains(exception.Failures, f => f.Contains("Portcullis:Providers:main:ClientSigningKey is required", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.Contains("Portcullis:Providers:main:ClientSigningKeyId is required", StringComparison.Ordinal));
        Assert.DoesNotContain(exception.Failures, f => f.Contains("ClientSecret", StringComparison.Ordinal));
    }

    internal static Dictionary<string, string?> ValidSettings() => new()
    {
        ["Portcullis:PublicOrigin"] = "http://localhost:5999",
        ["Portcullis:Providers:main:Authority"] = "http://127.0.0.1:9400",
        ["Portcullis:Providers:main:ClientId"] = "bff",
        ["Portcullis:Providers:main:ClientSecret"] = "bff-secret",
        ["Portcullis:Store:ConnectionString"] = $"Data Source={Path.Combine(Directory.CreateTempSubdirectory("portcullis-config-").FullName, "p.db")}",
    };

    /// <summary>Starts (and stops) a gateway with <paramref name="settings"/>; start-up validation throws.</summary>
    internal static async Task StartAsync(Dictionary<string, string?> settings)
    {
        var app = GatewayApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            Microsoft.AspNetCore.Hosting.HostingAbstractionsWebHostBuilderExtensions.UseUrls(builder.WebHost, $"http://127.0.0.1:{FreePort.Next()}");
        });
        try
        {
            await app.StartAsync();
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}
