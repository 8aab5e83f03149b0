using System.Net;
using System.Security.Cryptography;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.ScaleOut;

/// <summary>
/// Several gateway processes behind nginx on loopback, sharing one PostgreSQL database or one Redis key space (and so
/// one key ring) and nothing else, with the real test IdP and a recording upstream.
/// </summary>
public sealed class GatewayCluster : IAsyncDisposable
{
    private readonly string _directory;

    private GatewayCluster(TestIdp idp, RecordingUpstream upstream, NginxBalancer balancer, List<GatewayProcess> nodes, Dictionary<string, string?> settings, string directory)
    {
        Idp = idp;
        Upstream = upstream;
        Balancer = balancer;
        Nodes = nodes;
        Settings = settings;
        _directory = directory;
    }

    public TestIdp Idp { get; }

    public RecordingUpstream Upstream { get; }

    public NginxBalancer Balancer { get; }

    public List<GatewayProcess> Nodes { get; }

    public Dictionary<string, string?> Settings { get; }

    public string Origin => Balancer.Origin;

    /// <summary>Store settings for <paramref name="kind"/> on the test servers: a fresh database or key prefix, a fresh master key.</summary>
    public static async Task<Dictionary<string, string?>> StoreSettingsAsync(string kind) => new()
    {
        ["Portcullis:Store:Kind"] = kind,
        ["Portcullis:Store:ConnectionString"] = kind == "postgres" ? await TestServices.CreatePostgresDatabaseAsync() : TestServices.RedisConfiguration,
        ["Portcullis:Store:KeyPrefix"] = TestServices.NewRedisPrefix(),
        ["Portcullis:KeyProtection:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["Portcullis:KeyProtection:RefreshInterval"] = "00:00:01",
    };

    /// <param name="refreshedAccessTokenTtl">Lifetime of tokens from a refresh (default: <paramref name="accessTokenTtl"/>).</param>
    /// <param name="adjust">Changes to the nodes' settings (all nodes get the same).</param>
    /// <param name="idpPort">The provider's own port, with <paramref name="issuerPort"/> a <see cref="FaultProxy"/> in front of it (see <see cref="TestIdp.StartAsync"/>).</param>
    public static async Task<GatewayCluster> StartAsync(
        string storeKind,
        int nodeCount = 3,
        int accessTokenTtl = 120,
        int? refreshedAccessTokenTtl = null,
        Action<Dictionary<string, string?>>? adjust = null,
        int? idpPort = null,
        int? issuerPort = null)
    {
        // First, so a missing test server fails the test before anything is started that would then be left running.
        var storeSettings = await StoreSettingsAsync(storeKind);
        var publicPort = FreePort.Next();
        var directory = Directory.CreateTempSubdirectory("portcullis-cluster-").FullName;
        var upstream = await RecordingUpstream.StartAsync();
        TestIdp? idp = null;
        var nodes = new List<GatewayProcess>();
        try
        {
            idp = await TestIdp.StartAsync([$"http://localhost:{publicPort}"], accessTokenTtl: accessTokenTtl, refreshedAccessTokenTtl: refreshedAccessTokenTtl, port: idpPort, issuerPort: issuerPort);
            var settings = GatewayHost.DefaultSettings(publicPort, idp, directory);
            TestStack.OrdersRoute(upstream.Url)(settings);
            foreach (var (key, value) in storeSettings)
            {
                settings[key] = value;
            }

            adjust?.Invoke(settings);

            // The first node migrates the schema and creates the key ring; the others join it, as in a rolling start.
            var ports = Enumerable.Range(0, nodeCount).Select(_ => FreePort.Next()).ToArray();
            nodes.Add(await GatewayProcess.StartAsync(settings, ports[0], directory));
            nodes.AddRange(await Task.WhenAll(ports.Skip(1).Select(port => GatewayProcess.StartAsync(settings, port, directory))));
            var balancer = await NginxBalancer.StartAsync(publicPort, ports);
            return new GatewayCluster(idp, upstream, balancer, nodes, settings, directory);
        }
        catch
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            if (idp is not null)
            {
                await idp.DisposeAsync();
            }

            await upstream.DisposeAsync();
            throw;
        }
    }

    /// <summary>An API call with the session cookie, through <paramref name="origin"/> (the balancer or one node).</summary>
    public static Task<HttpStatusCode> CallAsync(HttpClient http, string origin, string cookie, string path) =>
        ApiCalls.OrdersAsync(http, origin, cookie, path);

    public async Task<int> RefreshCountAsync() =>
        (await Idp.EventsAsync("token")).Count(e => e.GetProperty("grant_type").GetString() == "refresh_token");

    public string Logs => string.Concat(Nodes.Select(n => n.Output));

    public async ValueTask DisposeAsync()
    {
        await Balancer.DisposeAsync();
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await Idp.DisposeAsync();
        await Upstream.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
