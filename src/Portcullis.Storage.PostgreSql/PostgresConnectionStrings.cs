using System.Data.Common;
using Npgsql;

namespace Portcullis.Storage.PostgreSql;

/// <summary>The operator's connection string, tuned for the store's few hot statements and bounded in time.</summary>
internal static class PostgresConnectionStrings
{
    // Every authenticated request reads the store: a database that stops answering (a network partition, a failover in
    // progress) must turn into 503 store_unavailable, not hold requests for as long as Npgsql's default 30 s command
    // timeout allows. Measured through the fault proxy, a hung database costs the command timeout plus twice the connect
    // timeout (Npgsql's cancellation attempt): a minute with Npgsql's defaults, 35 s with these. The connect timeout
    // (Timeout, 15 s) stays Npgsql's: it also bounds the wait for a pooled connection, and 3 s turned a cold 300-request
    // storm on a loaded 2-core machine into 503s (ScaleOutTests). Operators whose database opens connections fast can
    // lower it.

    /// <summary>Command timeout (seconds) unless the operator sets <c>Command Timeout</c>.</summary>
    internal const int DefaultCommandTimeoutSeconds = 5;

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
    /// <c>Command Timeout</c> of <see cref="DefaultCommandTimeoutSeconds"/>, and no wait for the answer to
    /// a cancellation (<c>Cancellation Timeout=-1</c>: a command that timed out breaks its connection at once), each
    /// only where the operator left it unset. Schema migrations set their own, longer timeout.
    /// </summary>
    public static string WithTimeouts(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
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
