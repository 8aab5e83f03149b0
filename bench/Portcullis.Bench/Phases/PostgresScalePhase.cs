using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;
using Npgsql;
using NpgsqlTypes;
using Portcullis.Bench.Processes;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Bench.Phases;

/// <summary>
/// Session scale on PostgreSQL (issue 18 target: 1,000,000 sessions, p99 of an authenticated request within 2 ms of the
/// one-session figure): after a real login the database is copied and <see cref="BenchSettings.PostgresSessions"/>
/// filler rows of the real schema copied into the copy (random keys, handles and blobs as long as the real ciphertext,
/// alive for the run); then a gateway on each database, side by side in interleaved rounds
/// (<see cref="SessionScalePhase.MeasureSideBySideAsync"/>). The server is the throwaway one tests/services/services.sh
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

        var name = "bench_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteOnServerAsync(server, $"CREATE DATABASE {name};");
        var small = new NpgsqlConnectionStringBuilder(server) { Database = name }.ToString();
        var origin = $"http://localhost:{gatewayPort}";
        var masterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var smallSettings = SettingsFor(context, idp, origin, small, masterKey);
        string cookie;
        await using (var first = await Gateway.StartAsync("gateway (PostgreSQL)", gatewayPort, smallSettings))
        {
            cookie = await Gateway.LoginAsync(origin);
        }

        // A copy of the whole database (the session, its grant, the key ring), so both gateways decrypt the same session.
        await CopyDatabaseAsync(server, name, name + "_large");
        var large = new NpgsqlConnectionStringBuilder(server) { Database = name + "_large" }.ToString();
        BenchContext.Log($"Copying {context.Settings.PostgresSessions:N0} filler sessions into PostgreSQL");
        await FillAsync(large, context.Settings.PostgresSessions);
        return await SessionScalePhase.MeasureSideBySideAsync(
            context,
            cookie,
            new SessionScalePhase.ScaleTarget(gatewayPort, smallSettings, StoreOf(small)),
            new SessionScalePhase.ScaleTarget(FreePort.Next(), SettingsFor(context, idp, origin, large, masterKey), StoreOf(large)));
    }

    private static Dictionary<string, string?> SettingsFor(BenchContext context, TestIdp idp, string origin, string connectionString, string masterKey)
    {
        var settings = Gateway.Settings(origin, idp, BenchContext.NewDataDirectory("pgscale"), context.UpstreamUrl);
        settings["Portcullis:Store:Kind"] = "postgres";
        settings["Portcullis:Store:ConnectionString"] = connectionString;
        settings["Portcullis:KeyProtection:MasterKey"] = masterKey;
        return settings;
    }

    private static SessionScalePhase.Store StoreOf(string connectionString) => new(
        async () => Convert.ToInt64(await ScalarAsync(connectionString, "SELECT COUNT(*) FROM sessions;")),
        async () => Convert.ToInt64(await ScalarAsync(connectionString, "SELECT pg_total_relation_size('sessions');")));

    /// <summary>
    /// CREATE DATABASE … TEMPLATE needs the template to have no connections; the stopped gateway's backends may take a
    /// moment to go after its process exited.
    /// </summary>
    private static async Task CopyDatabaseAsync(string server, string template, string copy)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteOnServerAsync(server, $"CREATE DATABASE {copy} TEMPLATE {template};");
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ObjectInUse && attempt < 50)
            {
                await Task.Delay(200);
            }
        }
    }

    private static async Task ExecuteOnServerAsync(string server, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server) { Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Binary COPY of <paramref name="count"/> rows shaped like real sessions, then VACUUM, ANALYZE and a checkpoint: a
    /// server that grew to that size over months is not vacuuming and writing out a fresh gigabyte while it serves, so
    /// the measurement must not overlap the maintenance a bulk load sets off (autovacuum on inserts, the checkpointer).
    /// </summary>
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

        await using var vacuum = new NpgsqlCommand("VACUUM (ANALYZE) sessions;", connection);
        await vacuum.ExecuteNonQueryAsync();
        await using var checkpoint = new NpgsqlCommand("CHECKPOINT;", connection);
        await checkpoint.ExecuteNonQueryAsync();
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
