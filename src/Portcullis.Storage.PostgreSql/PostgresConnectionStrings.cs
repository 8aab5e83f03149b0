using Npgsql;

namespace Portcullis.Storage.PostgreSql;

/// <summary>The operator's connection string, tuned for the store's few hot statements.</summary>
internal static class PostgresConnectionStrings
{
    /// <summary>
    /// The operator's PostgreSQL connection string, with Npgsql's automatic preparation switched on unless it sets
    /// <c>Max Auto Prepare</c> itself: the store runs the same few statements on every request, and a prepared statement
    /// skips parsing and planning (the session read takes less than half the time). Behind a pooler that cannot keep
    /// prepared statements (PgBouncer in transaction mode before 1.21), set <c>Max Auto Prepare=0</c>.
    /// </summary>
    public static string WithAutoPrepare(string connectionString)
    {
        // Any spelling of the setting ("Max Auto Prepare", "MaxAutoPrepare") means the operator decided.
        if (connectionString.Replace(" ", string.Empty, StringComparison.Ordinal).Contains("AutoPrepare", StringComparison.OrdinalIgnoreCase))
        {
            return connectionString;
        }

        return new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 32, AutoPrepareMinUsages = 2 }.ConnectionString;
    }
}
