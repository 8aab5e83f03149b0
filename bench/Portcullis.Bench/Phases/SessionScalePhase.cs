using Portcullis.Bench.Load;
using Portcullis.Bench.Processes;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Bench.Phases;

/// <summary>
/// The authenticated request with one session in the store and again with <see cref="BenchSettings.Sessions"/> more:
/// each time a fresh gateway process on the same store, the same real session, loaded and light-load wrk runs, the
/// gateway's peak memory and the store's size on disk.
/// </summary>
internal static class SessionScalePhase
{
    public static async Task<IReadOnlyList<ScaleResult>> RunAsync(BenchContext context, TestIdp idp, int gatewayPort)
    {
        var settings = context.Settings;
        var dataDirectory = BenchContext.NewDataDirectory("scale");
        var origin = $"http://localhost:{gatewayPort}";
        var gatewaySettings = Gateway.Settings(origin, idp, dataDirectory, context.UpstreamUrl);
        string cookie;
        await using (var first = await Gateway.StartAsync("gateway", gatewayPort, gatewaySettings))
        {
            cookie = await Gateway.LoginAsync(origin);
        }

        var store = new Store(() => CountSessionsAsync(dataDirectory), () => Task.FromResult(Gateway.StoreSizeBytes(dataDirectory)));
        var results = new List<ScaleResult> { await MeasureAsync(context, gatewayPort, gatewaySettings, store, cookie) };
        BenchContext.Log($"Inserting {settings.Sessions:N0} filler sessions");
        await SessionFiller.FillAsync(Gateway.DatabasePath(dataDirectory), settings.Sessions);
        results.Add(await MeasureAsync(context, gatewayPort, gatewaySettings, store, cookie));
        return results;
    }

    /// <summary>How a phase counts the store's sessions and measures its size, whatever the store.</summary>
    internal sealed record Store(Func<Task<long>> CountSessions, Func<Task<long>> SizeBytes);

    internal static async Task<ScaleResult> MeasureAsync(BenchContext context, int port, Dictionary<string, string?> gatewaySettings, Store store, string cookie)
    {
        var settings = context.Settings;
        var sessions = await store.CountSessions();
        await using var gateway = await Gateway.StartAsync("gateway", port, gatewaySettings);
        var url = $"http://127.0.0.1:{port}{Servers.UpstreamServer.SmallPath}";
        var headers = Gateway.AuthenticatedHeaders(cookie);
        await Wrk.WarmUpAsync(url, settings, headers);
        var loaded = await Wrk.RunAsync(url, settings.Connections, settings.Threads, settings.DurationSeconds, headers);
        var light = await Wrk.RunAsync(url, 1, 1, settings.DurationSeconds, headers);
        var result = new ScaleResult(sessions, loaded, light, gateway.PeakMemoryBytes, await store.SizeBytes());
        BenchContext.Log($"{sessions:N0} sessions: loaded {loaded.RequestsPerSecond:F0} req/s p50 {loaded.P50Ms:F3} p99 {loaded.P99Ms:F3}; light p50 {light.P50Ms:F3} p99 {light.P99Ms:F3}; errors {loaded.Errors + light.Errors}");
        return result;
    }

    private static async Task<long> CountSessionsAsync(string dataDirectory)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Gateway.DatabasePath(dataDirectory)};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM sessions;";
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}

internal sealed record ScaleResult(long Sessions, WrkResult Loaded, WrkResult Light, long GatewayPeakBytes, long StoreBytes);
