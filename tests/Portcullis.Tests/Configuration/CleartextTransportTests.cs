using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Gateway;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Configuration;

/// <summary>
/// Issue 17 item 6: tokens, codes and cookies never cross cleartext off the machine unless the operator says so for
/// that one upstream, provider or origin (<c>AllowInsecureTransport</c>).
/// </summary>
public sealed class CleartextTransportTests
{
    private static Dictionary<string, string?> Settings(string dataDirectory) => new()
    {
        ["Portcullis:PublicOrigin"] = "http://localhost:5999",
        ["Portcullis:Providers:main:Authority"] = "http://127.0.0.1:9400",
        ["Portcullis:Providers:main:ClientId"] = "bff",
        ["Portcullis:Providers:main:ClientSecret"] = "bff-secret",
        ["Portcullis:Store:ConnectionString"] = $"Data Source={Path.Combine(dataDirectory, "p.db")}",
        ["Portcullis:Apis:orders:Path"] = "/api/orders",
        ["Portcullis:Apis:orders:Upstream"] = "http://127.0.0.1:7001",
    };

    [Theory]
    [InlineData("Portcullis:Apis:orders:Upstream", "http://orders.internal:8080", "Portcullis:Apis:orders:AllowInsecureTransport")]
    [InlineData("Portcullis:Csrf:AllowedOrigins:0", "http://app.example.com", "Portcullis:Csrf:AllowInsecureTransport")]
    [InlineData("Portcullis:Providers:main:Authority", "http://idp.example.com", "Portcullis:Providers:main:AllowInsecureTransport")]
    public async Task ACleartextAddressOffTheMachineStopsStartUpNamingTheKeyAndTheOptIn(string key, string value, string optIn)
    {
        var settings = Settings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        settings[key] = value;

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAndStopAsync(settings));

        var failure = Assert.Single(exception.Failures, f => f.Contains(key, StringComparison.Ordinal));
        Assert.Contains("https", failure, StringComparison.Ordinal);
        Assert.Contains(optIn, failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APlainOAuthProvidersCleartextEndpointIsRefusedToo()
    {
        var settings = Settings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        settings.Remove("Portcullis:Providers:main:Authority");
        settings["Portcullis:Providers:main:Kind"] = "github";
        settings["Portcullis:Providers:main:Endpoints:Token"] = "http://github.internal/login/oauth/access_token";

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAndStopAsync(settings));

        Assert.Contains(exception.Failures, f => f.Contains("Portcullis:Providers:main:Endpoints:Token", StringComparison.Ordinal)
            && f.Contains("Portcullis:Providers:main:AllowInsecureTransport", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnExplicitOptInAcceptsEachCleartextAddress()
    {
        var settings = Settings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        settings["Portcullis:Apis:orders:Upstream"] = "http://orders.internal:8080";
        settings["Portcullis:Apis:orders:AllowInsecureTransport"] = "true";
        settings["Portcullis:Csrf:AllowedOrigins:0"] = "http://app.example.com";
        settings["Portcullis:Csrf:AllowInsecureTransport"] = "true";
        settings["Portcullis:Providers:main:Authority"] = "http://idp.example.com";
        settings["Portcullis:Providers:main:AllowInsecureTransport"] = "true";

        await StartAndStopAsync(settings); // starts: no exception
    }

    [Fact]
    public async Task ADiscoveryDocumentThatMovesEndpointsToCleartextIsRefusedAndNoLoginStarts()
    {
        await using var provider = await DiscoveryOnly.StartAsync();
        var port = FreePort.Next();
        var data = Directory.CreateTempSubdirectory("portcullis-config-").FullName;
        var settings = Settings(data);
        settings["Portcullis:PublicOrigin"] = $"http://localhost:{port}";
        settings["Portcullis:Providers:main:Authority"] = provider.Issuer;
        await using var gateway = await GatewayHost.StartAsync(settings, port, data);
        using var browser = new BrowserClient();

        var login = await browser.GetAsync($"{gateway.Origin}/bff/login", new Dictionary<string, string> { ["Accept"] = "text/html" });

        Assert.False(login.IsRedirect, login.Everything);
        Assert.Equal(HttpStatusCode.BadGateway, login.Status);
        Assert.StartsWith("text/html", login.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.DoesNotContain("idp.example.com", login.Everything, StringComparison.Ordinal);
        Assert.Contains(gateway.Logs.Lines, l => l.Contains("'http://idp.example.com/auth' is not https", StringComparison.Ordinal)
            && l.Contains("Portcullis:Providers:main:AllowInsecureTransport", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithTheOptInTheSameDiscoveryDocumentIsUsed()
    {
        await using var provider = await DiscoveryOnly.StartAsync();
        var port = FreePort.Next();
        var data = Directory.CreateTempSubdirectory("portcullis-config-").FullName;
        var settings = Settings(data);
        settings["Portcullis:PublicOrigin"] = $"http://localhost:{port}";
        settings["Portcullis:Providers:main:Authority"] = provider.Issuer;
        settings["Portcullis:Providers:main:AllowInsecureTransport"] = "true";
        await using var gateway = await GatewayHost.StartAsync(settings, port, data);
        using var browser = new BrowserClient();

        var login = await browser.GetAsync($"{gateway.Origin}/bff/login");

        Assert.True(login.IsRedirect, login.Everything);
        Assert.StartsWith("http://idp.example.com/auth?", login.Headers["Location"], StringComparison.Ordinal);
    }

    private static async Task StartAndStopAsync(Dictionary<string, string?> settings)
    {
        var app = GatewayApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.WebHost.UseUrls($"http://127.0.0.1:{FreePort.Next()}");
            builder.Logging.ClearProviders();
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

    /// <summary>A provider on loopback whose discovery document sends every endpoint to a cleartext host elsewhere.</summary>
    private sealed class DiscoveryOnly : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private DiscoveryOnly(WebApplication app, string issuer)
        {
            _app = app;
            Issuer = issuer;
        }

        public string Issuer { get; }

        public static async Task<DiscoveryOnly> StartAsync()
        {
            var port = FreePort.Next();
            var issuer = $"http://127.0.0.1:{port}";
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls(issuer);
            builder.Logging.ClearProviders();
            var app = builder.Build();
            app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
            {
                ["issuer"] = issuer,
                ["authorization_endpoint"] = "http://idp.example.com/auth",
                ["token_endpoint"] = "http://idp.example.com/token",
                ["jwks_uri"] = $"{issuer}/jwks",
                ["response_types_supported"] = new[] { "code" },
                ["code_challenge_methods_supported"] = new[] { "S256" },
            }));
            app.MapGet("/jwks", () => Results.Json(new { keys = Array.Empty<object>() }));
            await app.StartAsync();
            return new DiscoveryOnly(app, issuer);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
