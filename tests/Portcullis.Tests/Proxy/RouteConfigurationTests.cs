using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Portcullis.Gateway;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>Route and proxy configuration errors are all reported at start, each naming its key.</summary>
public sealed class RouteConfigurationTests
{
    [Fact]
    public async Task EveryRouteMistakeIsNamedAtOnce()
    {
        var settings = ValidSettings();
        void Route(string name, string path, string upstream, string token = "user")
        {
            settings[$"Portcullis:Apis:{name}:Path"] = path;
            settings[$"Portcullis:Apis:{name}:Upstream"] = upstream;
            settings[$"Portcullis:Apis:{name}:Token"] = token;
        }

        Route("badupstream", "/api/a", "not a url");
        Route("badtoken", "/api/b", "http://127.0.0.1:7001", "admin");
        Route("first", "/api/c", "http://127.0.0.1:7001");
        Route("duplicate", "/API/C", "http://127.0.0.1:7001");
        Route("parent", "/api/d", "http://127.0.0.1:7001");
        Route("child", "/api/d/inner", "http://127.0.0.1:7001");
        Route("noprovider", "/api/e", "http://127.0.0.1:7001", "client");
        settings["Portcullis:Apis:noprovider:Provider"] = "nope";
        Route("requirements", "/api/f", "http://127.0.0.1:7001", "none");
        settings["Portcullis:Apis:requirements:RequireScopes:0"] = "api";
        Route("limits", "/api/g", "http://127.0.0.1:7001");
        settings["Portcullis:Apis:limits:MaxRequestBodySize"] = "0";
        settings["Portcullis:Apis:limits:Timeout"] = "-00:00:01";
        Route("ownprefix", "/bff/api", "http://127.0.0.1:7001");
        Route("userinfo", "/api/h", "http://user:pw@127.0.0.1:7001");
        settings["Portcullis:TrustedProxies:0"] = "not-an-address";
        settings["Portcullis:Csrf:AllowedOrigins:0"] = "https://app.example.com/path";

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(settings));

        var message = string.Join('\n', exception.Failures);
        foreach (var key in new[]
        {
            "Portcullis:Apis:badupstream:Upstream", "Portcullis:Apis:badtoken:Token", "Portcullis:Apis:noprovider:Provider", "Portcullis:Apis:requirements",
            "Portcullis:Apis:limits:MaxRequestBodySize", "Portcullis:Apis:limits:Timeout", "Portcullis:Apis:ownprefix:Path",
            "Portcullis:Apis:userinfo:Upstream", "Portcullis:TrustedProxies:0", "Portcullis:Csrf:AllowedOrigins:0",
        })
        {
            Assert.Contains(key, message);
        }

        Assert.Contains(exception.Failures, f => f.Contains("Portcullis:Apis:duplicate", StringComparison.Ordinal)
            && f.Contains("Portcullis:Apis:first", StringComparison.Ordinal) && f.Contains("already used", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.Contains("Portcullis:Apis:child", StringComparison.Ordinal)
            && f.Contains("Portcullis:Apis:parent", StringComparison.Ordinal) && f.Contains("overlaps", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AClientRouteNeedsToKnowWhichProviderIssuesItsToken()
    {
        var settings = ValidSettings();
        settings["Portcullis:Providers:second:Authority"] = "http://127.0.0.1:9401";
        settings["Portcullis:Providers:second:ClientId"] = "bff";
        settings["Portcullis:Providers:second:ClientSecret"] = "bff-secret";
        settings["Portcullis:Apis:inventory:Path"] = "/api/inventory";
        settings["Portcullis:Apis:inventory:Upstream"] = "http://127.0.0.1:7001";
        settings["Portcullis:Apis:inventory:Token"] = "client";

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(settings));

        Assert.Contains(exception.Failures, f => f.Contains("Portcullis:Apis:inventory:Provider is required", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RouteAudienceMistakesAreNamedAtStart()
    {
        var settings = ValidSettings();
        void Route(string name, params (string Key, string Value)[] values)
        {
            settings[$"Portcullis:Apis:{name}:Path"] = $"/api/{name}";
            settings[$"Portcullis:Apis:{name}:Upstream"] = "http://127.0.0.1:7001";
            foreach (var (key, value) in values)
            {
                settings[$"Portcullis:Apis:{name}:{key}"] = value;
            }
        }

        Route("relative", ("Resource", "orders"));
        Route("fragment", ("Resource", "https://orders.example.com/#part"));
        Route("both", ("Resource", "https://orders.example.com/"), ("Audience", "orders"));
        Route("exchange", ("TokenExchange", "true"));
        Route("client", ("Resource", "https://orders.example.com/"), ("Token", "client"));
        Route("unknown", ("Audience", "orders"), ("Provider", "nope"));
        Route("fine", ("Resource", "https://billing.example.com/api"), ("TokenExchange", "true"), ("Provider", "main"));

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(settings));

        string[] expected =
        [
            "Portcullis:Apis:relative:Resource must be an absolute URI without fragment",
            "Portcullis:Apis:fragment:Resource must be an absolute URI without fragment",
            "Portcullis:Apis:both: Resource and Audience name the same thing two ways",
            "Portcullis:Apis:exchange:TokenExchange needs Portcullis:Apis:exchange:Resource or Portcullis:Apis:exchange:Audience",
            "Portcullis:Apis:client: Resource and Audience choose which user token the route sends and need Token 'user' or 'user-optional'",
            "Portcullis:Apis:unknown:Provider 'nope' is not configured",
        ];
        foreach (var failure in expected)
        {
            Assert.Contains(exception.Failures, f => f.StartsWith(failure, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(exception.Failures, f => f.Contains("Portcullis:Apis:fine", StringComparison.Ordinal));
        Assert.Equal(expected.Length, exception.Failures.Count());
    }

    private static Dictionary<string, string?> ValidSettings() => new()
    {
        ["Portcullis:PublicOrigin"] = "http://localhost:5999",
        ["Portcullis:Providers:main:Authority"] = "http://127.0.0.1:9400",
        ["Portcullis:Providers:main:ClientId"] = "bff",
        ["Portcullis:Providers:main:ClientSecret"] = "bff-secret",
        ["Portcullis:Store:ConnectionString"] = $"Data Source={Path.Combine(Directory.CreateTempSubdirectory("portcullis-routes-").FullName, "p.db")}",
    };

    private static async Task StartAsync(Dictionary<string, string?> settings)
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
