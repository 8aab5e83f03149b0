using System.Data.Common;
using Npgsql;

namespace Portcullis.Storage.PostgreSql;

/// <summary>The operator's connection string, tuned for the store's few hot statements and bounded in time.</summary>
internal static class PostgresConnectionStrings
{
    /// <summary>
    /// Connect and command timeout (seconds) unless the operator sets them. Every authenticated request reads the store:
    /// a database that stops answering (a network partition, a failover in progress) must turn into 503
    /// <c>store_unavailable</c> within seconds, not hold requests for Npgsql's defaults (15 s to connect, 30 s per
    /// command, plus 2 s waiting for a cancellation), which a hung store stacks to a minute.
    /// </summary>
    internal const int DefaultTimeoutSeconds = 5;

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
    /// <c>Timeout</c> and <c>Command Timeout</c> of <see cref="DefaultTimeoutSeconds"/>, and no wait for the answer to
    /// a cancellation (<c>Cancellation Timeout=-1</c>: a command that timed out breaks its connection at once), each
    /// only where the operator left it unset. Schema migrations set their own, longer timeout.
    /// </summary>
    public static string WithTimeouts(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Sets(connectionString, "timeout"))
        {
            builder.Timeout = DefaultTimeoutSeconds;
        }

        if (!Sets(connectionString, "commandtimeout"))
        {
            builder.CommandTimeout = DefaultTimeoutSeconds;
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
