using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Portcullis.Configuration;

namespace Portcullis.Storage.PostgreSql;

/// <summary><c>Store:Kind = postgres</c>: one database shared by every gateway node, the key ring in it.</summary>
internal sealed class PostgresStoreBackend : IStoreBackend
{
    public string Kind => StoreKinds.Postgres;

    public string? FindConnectionStringProblem(string connectionString)
    {
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
            return null;
        }
        catch (ArgumentException exception)
        {
            return exception.Message;
        }
    }

    public string Describe(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return $"{builder.Host}:{builder.Port}/{builder.Database}";
        }
        catch (ArgumentException)
        {
            return "(unparsable)";
        }
    }

    public IPortcullisStore Create(IServiceProvider services, StoreOptions options) =>
        new PostgresStore(NpgsqlDataSource.Create(PostgresConnectionStrings.ForGateway(options.ConnectionString)));

    public ISharedKeyRingRepository CreateKeyRing(IServiceProvider services, IPortcullisStore store) =>
        new PostgresXmlRepository((PostgresStore)store, services.GetRequiredService<TimeProvider>());

    public IStoreChangeFeed? CreateChangeFeed(IServiceProvider services, IPortcullisStore store) =>
        new PostgresChangeFeed(
            ((PostgresStore)store).DataSource,
            PostgresConnectionStrings.ForGateway(services.GetRequiredService<IOptions<PortcullisOptions>>().Value.Store.ConnectionString));

    public bool IsUnavailable(Exception exception) => exception switch
    {
        // Npgsql's transient codes, and two more a failover or an overloaded server gives: a read-only transaction (the
        // connection reached a standby) and a statement cancelled by statement_timeout.
        PostgresException postgres => postgres.IsTransient || postgres.SqlState is PostgresErrorCodes.ReadOnlySqlTransaction or PostgresErrorCodes.QueryCanceled,
        NpgsqlException => true, // no server answer at all: connection refused, reset, pool timeout
        _ => false,
    };
}
