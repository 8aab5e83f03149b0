using System.Net;
using System.Text.Json.Nodes;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tokens;

namespace Portcullis.Tests.Configuration;

/// <summary>
/// Issue 19, "Reload": API routes and allowed origins edited in the gateway's <c>--config</c> file apply without a
/// restart; an invalid edit is refused with a message naming the key while the configuration in force keeps serving.
/// The gateway runs as deployed (<c>GatewayApp</c> with <c>--config</c>); the file is replaced by an atomic rename, as
/// configuration management tools write it.
/// </summary>
public sealed class ConfigurationReloadTests
{
    private const string AppOrigin = "https://app.example.com";

    // Generous: the file watcher, the provider's 250 ms reload delay and a loaded 2-core machine.
    private static readonly TimeSpan ReloadBound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task ARouteAndAnOriginAddedToTheFileAnswerWithoutARestartAndAnInvalidEditChangesNothing()
    {
        await using var world = await World.StartAsync();
        var (upstream, gateway, browser, file) = (world.Upstream, world.Gateway, world.Browser, world.ConfigFile);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{gateway.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync($"{gateway.Origin}/api/items/1", BrowserClient.Csrf)).Status);
        Assert.False(await PreflightAllowedAsync(gateway.Origin, "/api/orders/1"));

        // Added: a second route and an app origin.
        WriteConfig(file, Routes(("orders", "/api/orders", upstream.Url), ("items", "/api/items", upstream.Url)), AppOrigin);
        var items = await Eventually.Until(
            () => browser.GetAsync($"{gateway.Origin}/api/items/7", BrowserClient.Csrf),
            response => response.Status == HttpStatusCode.OK,
            "the added route to answer",
            ReloadBound);
        Assert.Contains(upstream.Requests, r => r.PathAndQuery == "/api/items/7" && r.Headers["Authorization"].StartsWith("Bearer ", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, items.Status);
        Assert.True(await PreflightAllowedAsync(gateway.Origin, "/api/items/1"));
        Assert.Contains("Configuration reloaded: 2 API routes and 1 allowed origins are now in force.", gateway.Logs.All);

        // An invalid edit: refused, named, and the routes in force keep answering.
        var invalid = Routes(("orders", "/api/orders", upstream.Url), ("items", "/api/items", "not a url"));
        WriteConfig(file, invalid, AppOrigin);
        await Eventually.Until(
            () => Task.FromResult(gateway.Logs.All),
            logs => logs.Contains("The changed configuration was refused", StringComparison.Ordinal),
            "the refusal to be logged",
            ReloadBound);
        Assert.Contains("Portcullis:Apis:items:Upstream", gateway.Logs.All);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{gateway.Origin}/api/items/8", BrowserClient.Csrf)).Status);
        Assert.Contains(upstream.Requests, r => r.PathAndQuery == "/api/items/8");
        Assert.True(await PreflightAllowedAsync(gateway.Origin, "/api/items/1"));

        // Removed: the route and the origin stop answering; the session is untouched.
        WriteConfig(file, Routes(("items", "/api/items", upstream.Url)));
        await Eventually.Until(
            () => browser.GetAsync($"{gateway.Origin}/api/orders/2", BrowserClient.Csrf),
            response => response.Status == HttpStatusCode.NotFound,
            "the removed route to stop answering",
            ReloadBound);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync($"{gateway.Origin}/api/orders/3", BrowserClient.Csrf)).Status);
        Assert.DoesNotContain(upstream.Requests, r => r.PathAndQuery == "/api/orders/3");
        Assert.False(await PreflightAllowedAsync(gateway.Origin, "/api/items/1"));
        var foreign = await browser.GetAsync(
            $"{gateway.Origin}/api/items/9", new Dictionary<string, string> { ["X-CSRF"] = "1", ["Origin"] = AppOrigin });
        Assert.Equal(HttpStatusCode.Forbidden, foreign.Status);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{gateway.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Fact]
    public async Task AWorkerAsksForARoutesTokenByTheRoutesInForceAfterAReload()
    {
        await using var world = await World.StartAsync();
        var (upstream, gateway, browser, file) = (world.Upstream, world.Gateway, world.Browser, world.ConfigFile);
        var userId = (string)(await SqliteRows.QueryAsync(gateway.DataDirectory, "SELECT id FROM users")).Single()[0]!;
        var workers = gateway.Get<IUserTokens>();
        Assert.Equal("invalid_request", (await workers.GetForUserAndApiAsync(userId, "items", "report")).Error);

        WriteConfig(file, Routes(("items", "/api/items", upstream.Url)));
        await Eventually.Until(
            () => browser.GetAsync($"{gateway.Origin}/api/orders/1", BrowserClient.Csrf), r => r.Status == HttpStatusCode.NotFound, "the reload", ReloadBound);
        var added = await workers.GetForUserAndApiAsync(userId, "items", "report");
        var removed = await workers.GetForUserAndApiAsync(userId, "orders", "report");

        // Before, the worker API read the routes of start-up: the added route was unknown to it, the removed one not. The
        // route is looked up first; past it, this gateway refuses workers without a session (Tokens:OfflineAccess off).
        Assert.Equal("offline_access_not_enabled", added.Error);
        Assert.Equal("invalid_request", removed.Error);
    }

    [Fact]
    public async Task AFileThatIsNotJsonKeepsTheLastGoodVersionInForceUntilItIsRepaired()
    {
        await using var world = await World.StartAsync();
        var (upstream, gateway, browser, file) = (world.Upstream, world.Gateway, world.Browser, world.ConfigFile);

        Replace(file, "{ \"Portcullis\": { \"Apis\": ");
        await Eventually.Until(
            () => Task.FromResult(gateway.Logs.All),
            logs => logs.Contains($"The configuration file {file} cannot be read", StringComparison.Ordinal),
            "the unreadable file to be logged",
            ReloadBound);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{gateway.Origin}/api/orders/1", BrowserClient.Csrf)).Status);

        // And a later reload of another key still sees the last good file: its route is not dropped.
        WriteConfig(file, Routes(("orders", "/api/orders", upstream.Url), ("items", "/api/items", upstream.Url)));
        await Eventually.Until(
            () => browser.GetAsync($"{gateway.Origin}/api/items/1", BrowserClient.Csrf),
            response => response.Status == HttpStatusCode.OK,
            "the repaired file's new route to answer",
            ReloadBound);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{gateway.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
    }

    /// <summary>
    /// A provider, an upstream and the gateway started as deployed, with <c>--config</c> naming a file that routes
    /// <c>/api/orders</c> to the upstream; alice is signed in.
    /// </summary>
    private sealed class World : IAsyncDisposable
    {
        private TestIdp _idp = null!;

        public RecordingUpstream Upstream { get; private set; } = null!;

        public GatewayHost Gateway { get; private set; } = null!;

        public BrowserClient Browser { get; } = new();

        public string ConfigFile { get; private set; } = null!;

        public static async Task<World> StartAsync()
        {
            var world = new World();
            world.Upstream = await RecordingUpstream.StartAsync();
            var port = FreePort.Next();
            var data = Directory.CreateTempSubdirectory("portcullis-reload-").FullName;
            world._idp = await TestIdp.StartAsync([$"http://localhost:{port}"]);
            world.ConfigFile = Path.Combine(data, "gateway.json");
            WriteConfig(world.ConfigFile, Routes(("orders", "/api/orders", world.Upstream.Url)));
            world.Gateway = await GatewayHost.StartAsync(
                GatewayHost.DefaultSettings(port, world._idp, data), port, data, args: ["--config", world.ConfigFile]);
            await world.Browser.LoginAsync(world.Gateway.Origin);
            return world;
        }

        public async ValueTask DisposeAsync()
        {
            Browser.Dispose();
            await Gateway.DisposeAsync();
            await _idp.DisposeAsync();
            await Upstream.DisposeAsync();
        }
    }

    private static JsonObject Routes(params (string Name, string Path, string Upstream)[] routes)
    {
        var apis = new JsonObject();
        foreach (var (name, path, upstream) in routes)
        {
            apis[name] = new JsonObject { ["Path"] = path, ["Upstream"] = upstream };
        }

        return apis;
    }

    private static void WriteConfig(string file, JsonObject apis, params string[] origins)
    {
        var portcullis = new JsonObject
        {
            ["Apis"] = apis,
            ["Csrf"] = new JsonObject { ["AllowedOrigins"] = new JsonArray([.. origins.Select(o => JsonValue.Create(o))]) },
        };
        Replace(file, new JsonObject { ["Portcullis"] = portcullis }.ToJsonString());
    }

    /// <summary>Write beside, then rename over: the watcher never sees a half-written file.</summary>
    private static void Replace(string file, string content)
    {
        var staged = file + ".new";
        File.WriteAllText(staged, content);
        File.Move(staged, file, overwrite: true);
    }

    /// <summary>Whether a CORS preflight from <see cref="AppOrigin"/> to <paramref name="path"/> is allowed.</summary>
    private static async Task<bool> PreflightAllowedAsync(string origin, string path)
    {
        using var http = new HttpClient();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, origin + path);
        preflight.Headers.Add("Origin", AppOrigin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "x-csrf");
        using var response = await http.SendAsync(preflight);
        return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var allowed) && allowed.Single() == AppOrigin;
    }
}
