using Portcullis.Tests.Infrastructure;

namespace Portcullis.Bench.Processes;

/// <summary>
/// The Portcullis gateway as shipped (Release build, its own appsettings.json), configured the way an operator would:
/// environment variables <c>Portcullis__...</c> and <c>--urls</c>.
/// </summary>
internal static class Gateway
{
    public const string CookieName = "__Host-portcullis";

    public static string Binary
    {
        get
        {
            var path = Path.Combine(RepositoryPaths.Root, "src", "Portcullis.Gateway", "bin", "Release", "net10.0", "Portcullis.Gateway.dll");
            return File.Exists(path)
                ? path
                : throw new InvalidOperationException($"The Release gateway is missing at {path}: run bench/run.sh (it builds it).");
        }
    }

    /// <summary>One OIDC provider <c>main</c> at <paramref name="idp"/>, SQLite in <paramref name="dataDirectory"/>, route <c>/api/orders</c> to <paramref name="upstream"/>.</summary>
    public static Dictionary<string, string?> Settings(string publicOrigin, TestIdp idp, string dataDirectory, string upstream) => new()
    {
        ["Portcullis:PublicOrigin"] = publicOrigin,
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
        ["Portcullis:Store:ConnectionString"] = $"Data Source={DatabasePath(dataDirectory)}",
        ["Portcullis:Apis:orders:Path"] = "/api/orders",
        ["Portcullis:Apis:orders:Upstream"] = upstream,
    };

    public static string DatabasePath(string dataDirectory) => Path.Combine(dataDirectory, "portcullis.db");

    /// <summary>
    /// Starts the gateway from its own folder, as <c>dotnet Portcullis.Gateway.dll</c> is usually run, so its shipped
    /// appsettings.json applies (the store path is absolute). Started from another working directory, the gateway as of
    /// this writing ignores that file and logs every request at Information (see docs/benchmarks.md).
    /// </summary>
    public static Task<ServerProcess> StartAsync(string name, int port, IReadOnlyDictionary<string, string?> settings, string? cpus = null, string? binary = null)
    {
        binary ??= Binary;
        return ServerProcess.StartDotnetAsync(
            name,
            [binary, "--urls", $"http://localhost:{port}"],
            $"http://127.0.0.1:{port}/healthz",
            settings.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value),
            Path.GetDirectoryName(binary),
            cpus);
    }

    /// <summary>A real login through the provider's pages, as the integration tests do it; returns the session cookie's value.</summary>
    public static async Task<string> LoginAsync(string gatewayOrigin, string username = "alice")
    {
        using var browser = new BrowserClient();
        var callback = await browser.LoginAsync(gatewayOrigin, username);
        // The callback ends in a redirect or a small landing page (the SameSite=Strict cookie needs a same-site navigation).
        if ((int)callback.Status >= 400 || !browser.CookiesFor(new Uri(gatewayOrigin).Host).TryGetValue(CookieName, out var cookie))
        {
            throw new InvalidOperationException($"Login at {gatewayOrigin} did not complete: {(int)callback.Status} {callback.Body}");
        }

        return cookie;
    }

    /// <summary>Signs in and returns every cookie the browser then holds for the gateway, as a <c>Cookie</c> header.</summary>
    public static async Task<string> LoginCookieHeaderAsync(string gatewayOrigin, string username = "alice")
    {
        using var browser = new BrowserClient();
        var callback = await browser.LoginAsync(gatewayOrigin, username);
        var jar = browser.CookiesFor(new Uri(gatewayOrigin).Host);
        if ((int)callback.Status >= 400 || !jar.ContainsKey(CookieName))
        {
            throw new InvalidOperationException($"Login at {gatewayOrigin} did not complete: {(int)callback.Status} {callback.Body}");
        }

        return string.Join("; ", jar.Where(c => !c.Key.StartsWith(CookieName + "-", StringComparison.Ordinal)).Select(c => $"{c.Key}={c.Value}"));
    }

    /// <summary>The headers of an API call with a whole <c>Cookie</c> header (stateless mode's several cookies).</summary>
    public static Dictionary<string, string> CookieHeaders(string cookieHeader) => new()
    {
        ["Cookie"] = cookieHeader,
        ["X-CSRF"] = "1",
    };

    /// <summary>The headers a signed-in single-page app sends with an API call.</summary>
    public static Dictionary<string, string> AuthenticatedHeaders(string cookie) => new()
    {
        ["Cookie"] = $"{CookieName}={cookie}",
        ["X-CSRF"] = "1",
    };

    /// <summary>Bytes the store keeps on disk: database file, WAL and shared-memory index.</summary>
    public static long StoreSizeBytes(string dataDirectory) =>
        Directory.EnumerateFiles(dataDirectory, "portcullis.db*").Sum(f => new FileInfo(f).Length);
}
