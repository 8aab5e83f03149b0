using System.Diagnostics;
using Npgsql;

namespace Portcullis.Tests.Infrastructure;

/// <summary>
/// The PostgreSQL, Redis and nginx servers that ./test.sh starts on loopback (tests/services/services.sh) and describes
/// in environment variables. A test that needs one fails with a message naming what is missing; it never skips.
/// </summary>
public static class TestServices
{
    public static string PostgresConnectionString => Require("PORTCULLIS_TEST_POSTGRES", "PostgreSQL");

    public static string RedisConfiguration => Require("PORTCULLIS_TEST_REDIS", "Redis");

    public static string RedisDataDirectory => Require("PORTCULLIS_TEST_REDIS_DIR", "Redis");

    public static string PostgresBin => Require("PORTCULLIS_TEST_PG_BIN", "PostgreSQL");

    public static string Nginx
    {
        get
        {
            var path = Require("PORTCULLIS_TEST_NGINX", "nginx");
            return File.Exists(path) ? path : throw new InvalidOperationException($"nginx is missing at {path}: run ./test.sh (it installs nginx-light).");
        }
    }

    /// <summary>A new, empty database on the test server, so tests never see each other's rows.</summary>
    public static async Task<string> CreatePostgresDatabaseAsync()
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        // Unpooled: a pooled connection would not survive the restart tests' server restart.
        var admin = new NpgsqlConnectionStringBuilder(PostgresConnectionString) { Pooling = false }.ToString();
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name};", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(PostgresConnectionString) { Database = name }.ToString();
    }

    /// <summary>A key prefix of its own on the shared test Redis.</summary>
    public static string NewRedisPrefix() => $"t{Guid.NewGuid():N}:";

    /// <summary>Runs <c>tests/services/services.sh</c> (<c>stop-postgres</c>, <c>start-redis</c>, ...).</summary>
    public static async Task RunAsync(string action)
    {
        Require("PORTCULLIS_TEST_SERVICES", "The test services folder");
        var start = new ProcessStartInfo(Path.Combine(RepositoryPaths.Root, "tests", "services", "services.sh"), action)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"services.sh {action} failed: {await stderr}");
        }
    }

    private static string Require(string variable, string what) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{what} for the tests is missing: {variable} is not set. Run ./test.sh, which installs and starts PostgreSQL, Redis and nginx on loopback.");
}
