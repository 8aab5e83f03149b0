using Portcullis.Bench.Load;
using Portcullis.Bench.Processes;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Bench.Phases;

/// <summary>
/// The authenticated request with one session in the store and with <see cref="BenchSettings.Sessions"/> more, side by
/// side: after a real login the store is copied, the copy filled, and two fresh gateway processes — one on each store,
/// the same real session in both — are measured in interleaved rounds (loaded and light-load wrk runs), so that drift
/// of a shared machine hits both alike. Before 2026-12-08 the two were measured one after the other, once each, and
/// the difference moved with the host by more than the target it was judged against.
/// </summary>
internal static class SessionScalePhase
{
    public static async Task<IReadOnlyList<ScaleResult>> RunAsync(BenchContext context, TestIdp idp, int gatewayPort)
    {
        var small = BenchContext.NewDataDirectory("scale");
        var origin = $"http://localhost:{gatewayPort}";
        var smallSettings = Gateway.Settings(origin, idp, small, context.UpstreamUrl);
        string cookie;
        await using (var first = await Gateway.StartAsync("gateway", gatewayPort, smallSettings))
        {
            cookie = await Gateway.LoginAsync(origin);
        }

        // The whole data directory (database, WAL, key ring): the copy decrypts the same session.
        var large = BenchContext.NewDataDirectory("scale-large");
        CopyDirectory(small, large);
        var largeSettings = Gateway.Settings(origin, idp, large, context.UpstreamUrl);
        BenchContext.Log($"Inserting {context.Settings.Sessions:N0} filler sessions");
        await SessionFiller.FillAsync(Gateway.DatabasePath(large), context.Settings.Sessions);
        return await MeasureSideBySideAsync(
            context,
            cookie,
            new ScaleTarget(gatewayPort, smallSettings, new Store(() => CountSessionsAsync(small), () => Task.FromResult(Gateway.StoreSizeBytes(small)))),
            new ScaleTarget(FreePort.Next(), largeSettings, new Store(() => CountSessionsAsync(large), () => Task.FromResult(Gateway.StoreSizeBytes(large)))));
    }

    /// <summary>How a phase counts the store's sessions and measures its size, whatever the store.</summary>
    internal sealed record Store(Func<Task<long>> CountSessions, Func<Task<long>> SizeBytes);

    /// <summary>A gateway of the phase: where it listens, its configuration (its store) and how to read that store.</summary>
    internal sealed record ScaleTarget(int Port, Dictionary<string, string?> Settings, Store Store);

    /// <summary>
    /// Starts one fresh gateway per target, warms each up, then runs <see cref="BenchSettings.Rounds"/> rounds of a
    /// loaded and a one-connection run against each, alternating which target goes first from round to round.
    /// </summary>
    internal static async Task<IReadOnlyList<ScaleResult>> MeasureSideBySideAsync(BenchContext context, string cookie, params ScaleTarget[] targets)
    {
        var settings = context.Settings;
        var headers = Gateway.AuthenticatedHeaders(cookie);
        var gateways = new List<ServerProcess>();
        try
        {
            var sessions = new long[targets.Length];
            for (var t = 0; t < targets.Length; t++)
            {
                sessions[t] = await targets[t].Store.CountSessions();
                gateways.Add(await Gateway.StartAsync($"gateway ({sessions[t]:N0} sessions)", targets[t].Port, targets[t].Settings));
                await Wrk.WarmUpAsync(UrlOf(targets[t]), settings, headers);
            }

            var loaded = targets.Select(_ => new List<WrkResult>()).ToArray();
            var light = targets.Select(_ => new List<WrkResult>()).ToArray();
            for (var round = 0; round < settings.Rounds; round++)
            {
                var order = Enumerable.Range(0, targets.Length).ToArray();
                if (round % 2 == 1)
                {
                    Array.Reverse(order);
                }

                foreach (var t in order)
                {
                    loaded[t].Add(await Wrk.RunAsync(UrlOf(targets[t]), settings.Connections, settings.Threads, settings.DurationSeconds, headers));
                }

                foreach (var t in order)
                {
                    light[t].Add(await Wrk.RunAsync(UrlOf(targets[t]), 1, 1, settings.DurationSeconds, headers));
                }

                BenchContext.Log($"Round {round + 1}: " + string.Join("; ", order.Select(t =>
                    $"{sessions[t]:N0} sessions loaded {loaded[t][^1].RequestsPerSecond:F0} req/s p99 {loaded[t][^1].P99Ms:F3}, light p99 {light[t][^1].P99Ms:F3}")));
            }

            var results = new List<ScaleResult>();
            for (var t = 0; t < targets.Length; t++)
            {
                results.Add(new ScaleResult(sessions[t], loaded[t], light[t], gateways[t].PeakMemoryBytes, await targets[t].Store.SizeBytes()));
            }

            return results;
        }
        finally
        {
            foreach (var gateway in gateways)
            {
                await gateway.DisposeAsync();
            }
        }
    }

    private static string UrlOf(ScaleTarget target) => $"http://127.0.0.1:{target.Port}{Servers.UpstreamServer.SmallPath}";

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        }

        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
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

/// <summary>
/// One gateway of a session-scale phase over its rounds; <see cref="Loaded"/> and <see cref="Light"/> are the medians
/// of the rounds (requests/s, p50 and p99 each; requests and errors summed).
/// </summary>
internal sealed record ScaleResult(long Sessions, IReadOnlyList<WrkResult> LoadedRounds, IReadOnlyList<WrkResult> LightRounds, long GatewayPeakBytes, long StoreBytes)
{
    public WrkResult Loaded => MedianOf(LoadedRounds);

    public WrkResult Light => MedianOf(LightRounds);

    private static WrkResult MedianOf(IReadOnlyList<WrkResult> rounds) => new(
        Statistics.Median(rounds.Select(r => r.RequestsPerSecond)),
        Statistics.Median(rounds.Select(r => r.P50Ms)),
        Statistics.Median(rounds.Select(r => r.P99Ms)),
        rounds.Sum(r => r.Requests),
        rounds.Sum(r => r.Non2xx),
        rounds.Sum(r => r.SocketErrors));
}
