using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;

namespace Portcullis.Tests.Infrastructure;

/// <summary>One test's world: a real oidc-provider and a real gateway with its own SQLite store, all on loopback.</summary>
public sealed class TestStack : IAsyncDisposable
{
    private readonly TimeProvider? _clock;

    private TestStack(TestIdp idp, GatewayHost gateway, Dictionary<string, string?> settings, TimeProvider? clock)
    {
        _clock = clock;
        Idp = idp;
        Gateway = gateway;
        Settings = settings;
    }

    public TestIdp Idp { get; }

    public GatewayHost Gateway { get; private set; }

    public Dictionary<string, string?> Settings { get; }

    public string Origin => Gateway.Origin;

    public static async Task<TestStack> StartAsync(
        string clientAuthentication = "client_secret_basic",
        int accessTokenTtl = 120,
        Action<Dictionary<string, string?>>? adjust = null,
        Action<WebApplicationBuilder>? configure = null,
        int? idpPort = null,
        int? issuerPort = null,
        TimeProvider? clock = null,
        Action<JsonObject, int>? idpConfig = null,
        bool persistentIdp = false)
    {
        var port = FreePort.Next();
        var dataDirectory = Directory.CreateTempSubdirectory("portcullis-test-").FullName;
        // With issuerPort (a FaultProxy in front of idpPort), every call the gateway makes to the provider crosses it.
        var idp = await TestIdp.StartAsync([$"http://localhost:{port}"], clientAuthentication, accessTokenTtl, port: idpPort, issuerPort: issuerPort,
            adjustConfig: idpConfig is null ? null : config => idpConfig(config, port), persistent: persistentIdp);
        var settings = GatewayHost.DefaultSettings(port, idp, dataDirectory);
        settings["Portcullis:Providers:main:ClientAuthentication"] = clientAuthentication;
        adjust?.Invoke(settings);
        GatewayHost gateway;
        try
        {
            gateway = await GatewayHost.StartAsync(settings, port, dataDirectory, configure, clock);
        }
        catch
        {
            // A gateway that refuses to start (a start-up check under test) leaves no provider process behind.
            await idp.DisposeAsync();
            throw;
        }

        return new TestStack(idp, gateway, settings, clock);
    }

    /// <summary>Settings adding an API route <c>/api/orders</c> forwarded to <paramref name="upstreamUrl"/> with the user's token.</summary>
    public static Action<Dictionary<string, string?>> OrdersRoute(string upstreamUrl) => settings =>
    {
        settings["Portcullis:Apis:orders:Path"] = "/api/orders";
        settings["Portcullis:Apis:orders:Upstream"] = upstreamUrl;
    };

    /// <summary>
    /// Stops the gateway and starts a new one on the same port and store, as after a deployment: the builder step given
    /// at start is not repeated (tests use it to play the previous version), <paramref name="configure"/> is applied instead.
    /// </summary>
    public async Task RestartGatewayAsync(Action<WebApplicationBuilder>? configure = null)
    {
        var port = Gateway.Port;
        var dataDirectory = Gateway.DataDirectory;
        await Gateway.DisposeAsync();
        Gateway = await GatewayHost.StartAsync(Settings, port, dataDirectory, configure, _clock);
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Idp.DisposeAsync();
        try
        {
            Directory.Delete(Gateway.DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
