using Microsoft.AspNetCore.Builder;

namespace Portcullis.Demo;

/// <summary>How to start a <see cref="DemoStack"/>.</summary>
public sealed record DemoStackOptions
{
    /// <summary>
    /// The gateway's port on loopback; 0 picks a free one.
    /// <value>The default value is <see cref="DemoDefaults.GatewayPort"/>.</value>
    /// </summary>
    public int GatewayPort { get; init; } = DemoDefaults.GatewayPort;

    /// <summary>
    /// The development OpenID provider's port on loopback; 0 picks a free one.
    /// <value>The default value is <see cref="DemoDefaults.ProviderPort"/>.</value>
    /// </summary>
    public int ProviderPort { get; init; } = DemoDefaults.ProviderPort;

    /// <summary>
    /// The sample API's port on loopback; 0 picks a free one.
    /// <value>The default value is <see cref="DemoDefaults.ApiPort"/>.</value>
    /// </summary>
    public int ApiPort { get; init; } = DemoDefaults.ApiPort;

    /// <summary>
    /// Where the gateway keeps its SQLite store and key file.
    /// <value>The default value is <c>null</c>: a <c>portcullis-demo</c> folder under the OS temp directory.</value>
    /// </summary>
    public string? DataDirectory { get; init; }

    /// <summary>
    /// Whether to delete the gateway's store at start. The provider keeps everything in memory and
    /// makes new keys at each start, so sessions from an earlier run could never be refreshed.
    /// <value>The default value is <c>true</c>.</value>
    /// </summary>
    public bool ResetStore { get; init; } = true;

    /// <summary>
    /// Extra gateway configuration, applied after the demo's own settings (so it can override them)
    /// and before the gateway's services are built.
    /// <value>The default value is <c>null</c>.</value>
    /// </summary>
    public Action<WebApplicationBuilder>? ConfigureGateway { get; init; }
}
