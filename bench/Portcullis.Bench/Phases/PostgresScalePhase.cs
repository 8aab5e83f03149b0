using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;
using Npgsql;
using NpgsqlTypes;
using Portcullis.Bench.Processes;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Bench.Phases;

/// <summary>
/// Session scale on PostgreSQL (issue 18 target: 1,000,000 sessions, p99 of an authenticated request within 2 ms of the
/// one-session figure): the same real session measured with one session in a fresh database and again after
/// <see cref="BenchSettings.PostgresSessions"/> filler rows of the real schema were copied in (random keys, handles and
/// blobs as long as the real ciphertext, alive for the run). The server is the throwaway one tests/services/services.sh
/// starts (fsync off: its numbers are about the gateway's reads, not the disk).
/// </summary>
internal static class PostgresScalePhase
{
    public static async Task<IReadOnlyList<ScaleResult>?> RunAsync(BenchContext context, TestIdp idp, int gatewayPort)
    {
        if (Environment.GetEnvironmentVariable("PORTCULLIS_TEST_POSTGRES") is not { Length: > 0 } server)
        {
            BenchContext.Log("Phase: PostgreSQL session scale skipped: no PostgreSQL (bench/run.sh starts one with tests/services/services.sh)");
            return null;
        }

        var connectionString = await CreateDatabaseAsync(server);
        var origin = $"http://localhost:{gatewayPort}";
        var gatewaySettings = Gateway.Settings(origin, idp, BenchContext.NewDataDirectory("pgscale"), context.UpstreamUrl);
        gatewaySettings["Portcullis:Store:Kind"] = "postgres";
        gatewaySettings["Portcullis:Store:ConnectionString"] = connectionString;
        gatewaySettings["Portcullis:KeyProtection:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        string cookie;
        await using (var first = await Gateway.StartAsync("gateway (PostgreSQL)", gatewayPort, gatewaySettings))
        {
            cookie = await Gateway.LoginAsync(origin);
        }

        var store = new SessionScalePhase.Store(
            async () => Convert.ToInt64(await ScalarAsync(connectionString, "SELECT COUNT(*) FROM sessions;")),
            async () => Convert.ToInt64(await ScalarAsync(connectionString, "SELECT pg_total_relation_size('sessions');")));
        var results = new List<ScaleResult> { await SessionScalePhase.MeasureAsync(context, gatewayPort, gatewaySettings, store, cookie) };
        BenchContext.Log($"Copying {context.Settings.PostgresSessions:N0} filler sessions into PostgreSQL");
        await FillAsync(connectionString, context.Settings.PostgresSessions);
        results.Add(await SessionScalePhase.MeasureAsync(context, gatewayPort, gatewaySettings, store, cookie));
        return results;
    }

    private static async Task<string> CreateDatabaseAsync(string server)
    {
        var name = "bench_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server) { Pooling = false }.ToString()))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name};", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(server) { Database = name }.ToString();
    }

    /// <summary>Binary COPY of <paramref name="count"/> rows shaped like real sessions, then ANALYZE, as a server that grew to that size would have.</summary>
    private static async Task FillAsync(string connectionString, int count)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var dataLength = Convert.ToInt32(await ScalarAsync(connectionString, "SELECT MAX(length(data)) FROM sessions;"));
        var now = DateTimeOffset.UtcNow;
        await using (var import = await connection.BeginBinaryImportAsync(
            "COPY sessions (key, handle, user_id, grant_id, provider, provider_sid, data, created_at, last_seen_at, idle_expires_at, absolute_expires_at) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < count; i++)
            {
                await import.StartRowAsync();
                await import.WriteAsync(Random(32), NpgsqlDbType.Text);
                await import.WriteAsync(Random(16), NpgsqlDbType.Text);
                await import.WriteAsync(Random(16), NpgsqlDbType.Text);
                await import.WriteAsync(Random(16), NpgsqlDbType.Text);
                await import.WriteAsync("main", NpgsqlDbType.Text);
                await import.WriteAsync(Random(16), NpgsqlDbType.Text);
                await import.WriteAsync(RandomNumberGenerator.GetBytes(dataLength), NpgsqlDbType.Bytea);
                await import.WriteAsync(now.ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint);
                await import.WriteAsync(now.ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint);
                // Alive (not swept by the cleanup job) for longer than any run.
                await import.WriteAsync(now.AddHours(6).ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint);
                await import.WriteAsync(now.AddHours(12).ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint);
            }

            await import.CompleteAsync();
        }

        await using var analyze = new NpgsqlCommand("ANALYZE sessions;", connection);
        await analyze.ExecuteNonQueryAsync();
    }

    private static string Random(int bytes) => WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(bytes));

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
