using Microsoft.AspNetCore.Builder;
using Portcullis.Demo.Api;
using Portcullis.Demo.Gateway;
using Portcullis.Demo.Hosting;
using Portcullis.Demo.Provider;

namespace Portcullis.Demo;

/// <summary>
/// The complete local stack in one process: a development OpenID provider, a sample API and the
/// Portcullis gateway serving the sample single-page app, each on its own loopback port.
/// </summary>
public sealed class DemoStack : IAsyncDisposable
{
    private readonly List<WebApplication> _apps;

    private DemoStack(List<WebApplication> apps, Uri gatewayUrl, Uri providerUrl, Uri apiUrl, string dataDirectory)
    {
        _apps = apps;
        GatewayUrl = gatewayUrl;
        ProviderUrl = providerUrl;
        ApiUrl = apiUrl;
        DataDirectory = dataDirectory;
    }

    /// <summary>The gateway's origin as the browser sees it, e.g. <c>http://localhost:5000/</c>: open this.</summary>
    public Uri GatewayUrl { get; }

    /// <summary>The provider's base URL, e.g. <c>http://127.0.0.1:5001/</c>; <see cref="Issuer"/> is its string form.</summary>
    public Uri ProviderUrl { get; }

    /// <summary>
    /// The issuer the provider advertises in discovery and writes into tokens, e.g. <c>http://127.0.0.1:5001/</c>
    /// (with the trailing slash); the gateway's <c>Authority</c> is set to exactly this.
    /// </summary>
    public string Issuer => ProviderUrl.AbsoluteUri;

    /// <summary>The sample API's base URL, e.g. <c>http://127.0.0.1:5002/</c> (it answers <c>GET /api/whoami</c>).</summary>
    public Uri ApiUrl { get; }

    /// <summary>The folder holding the gateway's SQLite store and key file.</summary>
    public string DataDirectory { get; }

    /// <summary>The demo users: user name to password.</summary>
    public IReadOnlyDictionary<string, string> Users { get; } =
        DemoUsers.All.ToDictionary(user => user.UserName, user => user.Password, StringComparer.Ordinal);

    /// <summary>The gateway's services, for tests that look inside (store, clock, options).</summary>
    public IServiceProvider GatewayServices => _apps[^1].Services;

    /// <summary>Starts the provider, then the API, then the gateway; returns when all three accept requests.</summary>
    public static async Task<DemoStack> StartAsync(DemoStackOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);

        // Ports first: the provider registers the gateway's redirect URIs, the gateway names the
        // provider's issuer, and neither can be changed once started.
        var gatewayUrl = new Uri($"http://localhost:{FreePort.Resolve(options.GatewayPort)}/");
        var providerUrl = new Uri($"http://127.0.0.1:{FreePort.Resolve(options.ProviderPort)}/");
        var apiUrl = new Uri($"http://127.0.0.1:{FreePort.Resolve(options.ApiPort)}/");
        var dataDirectory = PrepareDataDirectory(options);

        var apps = new List<WebApplication>();
        try
        {
            apps.Add(await ProviderApp.StartAsync(new ProviderSettings(providerUrl, gatewayUrl), ct));
            await WarmUpAsync(new Uri(providerUrl, ".well-known/openid-configuration"), ct);
            apps.Add(await ApiApp.StartAsync(apiUrl, providerUrl.AbsoluteUri, ct));
            var gateway = new GatewaySettings(
                PublicOrigin: gatewayUrl.GetLeftPart(UriPartial.Authority),
                Issuer: providerUrl.AbsoluteUri,
                ApiUrl: apiUrl,
                DatabasePath: Path.Combine(dataDirectory, "portcullis.db"),
                StaticRoot: DemoContent.StaticRoot());
            apps.Add(await GatewayHost.StartAsync(gateway, options.ConfigureGateway, ct));
        }
        catch
        {
            await StopAsync(apps);
            throw;
        }

        return new DemoStack(apps, gatewayUrl, providerUrl, apiUrl, dataDirectory);
    }

    /// <summary>
    /// Asks once for <paramref name="url"/> and waits for the answer. A freshly started provider's first answer (its
    /// database, signing keys, code paths run for the first time) can take seconds on a loaded machine; paid here, where
    /// nothing times out, it is not paid by the first login against the gateway's provider timeout.
    /// </summary>
    private static async Task WarmUpAsync(Uri url, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };
        using var response = await http.GetAsync(url, ct);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Stops the gateway, the API and the provider, in that order.</summary>
    public ValueTask DisposeAsync() => new(StopAsync(_apps));

    private static async Task StopAsync(List<WebApplication> apps)
    {
        for (var i = apps.Count - 1; i >= 0; i--)
        {
            await apps[i].StopAsync();
            await apps[i].DisposeAsync();
        }

        apps.Clear();
    }

    private static string PrepareDataDirectory(DemoStackOptions options)
    {
        var directory = Path.GetFullPath(options.DataDirectory ?? Path.Combine(Path.GetTempPath(), "portcullis-demo"));
        Directory.CreateDirectory(directory);
        if (options.ResetStore)
        {
            foreach (var suffix in new[] { "", "-wal", "-shm", "-journal" })
            {
                File.Delete(Path.Combine(directory, "portcullis.db" + suffix));
            }
        }

        return directory;
    }
}
