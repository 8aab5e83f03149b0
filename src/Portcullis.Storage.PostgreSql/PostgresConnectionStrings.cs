using System.Data.Common;
using Npgsql;

namespace Portcullis.Storage.PostgreSql;

/// <summary>The operator's connection string, tuned for the store's few hot statements and bounded in time.</summary>
internal static class PostgresConnectionStrings
{
    // Every authenticated request reads the store: a database that stops answering (a network partition, a failover in
    // progress) must turn into 503 store_unavailable within seconds. With Npgsql's defaults (15 s to connect, 30 s per
    // command) a hung database held requests for a minute (measured through the fault proxy). A command that times out
    // then costs the command timeout plus twice the connect timeout (Npgsql's cancellation attempt on a new
    // connection): about 10 s with these, measured by StoreWireFaultTests.

    /// <summary>Connect timeout (seconds) unless the operator sets <c>Timeout</c>.</summary>
    internal const int DefaultConnectTimeoutSeconds = 3;

    /// <summary>Command timeout (seconds) unless the operator sets <c>Command Timeout</c>.</summary>
    internal const int DefaultCommandTimeoutSeconds = 4;

    /// <summary>The operator's connection string with the gateway's defaults for what it leaves unset.</summary>
    public static string ForGateway(string connectionString) => WithTimeouts(WithAutoPrepare(connectionString));

    /// <summary>
    /// The operator's PostgreSQL connection string, with Npgsql's automatic preparation switched on unless it sets
    /// <c>Max Auto Prepare</c> itself: the store runs the same few statements on every request, and a prepared statement
    /// skips parsing and planning (the session read takes less than half the time). Behind a pooler that cannot keep
    /// prepared statements (PgBouncer in transaction mode before 1.21), set <c>Max Auto Prepare=0</c>.
    /// </summary>
    public static string WithAutoPrepare(string connectionString)
    {
        if (Sets(connectionString, "maxautoprepare"))
        {
            return connectionString;
        }

        return new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 32, AutoPrepareMinUsages = 2 }.ConnectionString;
    }

    /// <summary>
    /// <c>Timeout</c> of <see cref="DefaultConnectTimeoutSeconds"/>, <c>Command Timeout</c> of
    /// <see cref="DefaultCommandTimeoutSeconds"/>, and no wait for the answer to
    /// a cancellation (<c>Cancellation Timeout=-1</c>: a command that timed out breaks its connection at once), each
    /// only where the operator left it unset. Schema migrations set their own, longer timeout.
    /// </summary>
    public static string WithTimeouts(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Sets(connectionString, "timeout"))
        {
            builder.Timeout = DefaultConnectTimeoutSeconds;
        }

        if (!Sets(connectionString, "commandtimeout"))
        {
            builder.CommandTimeout = DefaultCommandTimeoutSeconds;
        }

        if (!Sets(connectionString, "cancellationtimeout"))
        {
            builder.CancellationTimeout = -1;
        }

        return builder.ConnectionString;
    }

    /// <summary>Whether the string names <paramref name="normalizedKey"/> in any spelling ("Command Timeout", "commandtimeout").</summary>
    private static bool Sets(string connectionString, string normalizedKey) =>
        new DbConnectionStringBuilder { ConnectionString = connectionString }.Keys.Cast<string>()
            .Any(key => string.Equals(key.Replace(" ", string.Empty, StringComparison.Ordinal), normalizedKey, StringComparison.OrdinalIgnoreCase));
}
