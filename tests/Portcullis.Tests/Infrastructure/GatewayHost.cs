using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Portcullis.Gateway;

namespace Portcullis.Tests.Infrastructure;

/// <summary>The real gateway (as <c>Portcullis.Gateway</c> builds it) on real Kestrel, on a loopback port, with captured logs.</summary>
public sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayHost(WebApplication app, int port, string dataDirectory, CapturedLogs logs)
    {
        _app = app;
        Port = port;
        DataDirectory = dataDirectory;
        Logs = logs;
    }

    public int Port { get; }

    public string Origin => $"http://localhost:{Port}";

    public string DataDirectory { get; }

    public CapturedLogs Logs { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Settings every test gateway has: one OIDC provider <c>main</c> at <paramref name="idp"/>, SQLite in <paramref name="dataDirectory"/>.</summary>
    public static Dictionary<string, string?> DefaultSettings(int port, TestIdp idp, string dataDirectory) => new()
    {
        ["Portcullis:PublicOrigin"] = $"http://localhost:{port}",
        ["Portcullis:Providers:main:Kind"] = "oidc",
        ["Portcullis:Providers:main:Authority"] = idp.Issuer,
        ["Portcullis:Providers:main:ClientId"] = TestIdp.ClientId,
        ["Portcullis:Providers:main:ClientSecret"] = TestIdp.ClientSecret,
        ["Portcullis:Providers:main:Scopes:0"] = "openid",
        ["Portcullis:Providers:main:Scopes:1"] = "profile",
        ["Portcullis:Providers:main:Scopes:2"] = "email",
        ["Portcullis:Providers:main:Scopes:3"] = "offline_access",
        ["Portcullis:Providers:main:Scopes:4"] = "api",
        ["Portcullis:Store:Kind"] = "sqlite",
        ["Portcullis:Store:ConnectionString"] = $"Data Source={Path.Combine(dataDirectory, "portcullis.db")}",
    };

    /// <param name="args">The gateway's command line, such as <c>--config PATH</c>; the in-memory settings sit above it.</param>
    /// <param name="clock">The gateway's clock; a <c>FakeTimeProvider</c> lets a test move the gateway past a token's due
    /// time, a cache duration or a timeout without sleeping. The default is the system clock.</param>
    public static async Task<GatewayHost> StartAsync(
        Dictionary<string, string?> settings,
        int port,
        string dataDirectory,
        Action<WebApplicationBuilder>? configure = null,
        TimeProvider? clock = null,
        string[]? args = null)
    {
        var logs = new CapturedLogs();
        var app = GatewayApp.Create(args ?? [], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.WebHost.UseUrls($"http://localhost:{port}");
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Logging.AddProvider(logs);
            if (clock is not null)
            {
                builder.Services.AddSingleton(clock);
            }

            configure?.Invoke(builder);
        });
        await app.StartAsync();
        return new GatewayHost(app, port, dataDirectory, logs);
    }

    public T Get<T>()
        where T : notnull => _app.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
