using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Portcullis.Configuration;
using Portcullis.Storage.Postgres;
using Portcullis.Storage.Redis;
using Portcullis.Storage.Sqlite;

namespace Portcullis.Storage;

/// <summary>Chooses the store backend from <c>Portcullis:Store:Kind</c>.</summary>
internal static class StoreRegistration
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddSingleton<IPortcullisStore>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<PortcullisOptions>>().Value;
            var store = options.Store;
            IPortcullisStore backend = store.Kind switch
            {
                StoreKinds.Postgres => new PostgresStore(NpgsqlDataSource.Create(PostgresConnectionString(store.ConnectionString))),
                StoreKinds.Redis => new RedisStore(store.ConnectionString, store.KeyPrefix),
                _ => new SqliteStore(StorePaths.ResolveConnectionString(provider)),
            };
            return options.Session.CacheDuration > TimeSpan.Zero
                ? new SessionCachingStore(backend, options.Session.CacheDuration, provider.GetRequiredService<TimeProvider>())
                : backend;
        });

        // One object behind every entity interface: consumers ask for the smallest one, a request still costs one backend.
        services.TryAddSingleton<IStoreLifecycle>(Resolve);
        services.TryAddSingleton<IUserStore>(Resolve);
        services.TryAddSingleton<ILoginTransactionStore>(Resolve);
        services.TryAddSingleton<IGrantStore>(Resolve);
        services.TryAddSingleton<ISessionStore>(Resolve);
        services.TryAddSingleton<ILeaseStore>(Resolve);
        services.TryAddSingleton<IRevocationOutbox>(Resolve);
        services.TryAddSingleton<IAuditStore>(Resolve);
    }

    private static IPortcullisStore Resolve(IServiceProvider provider) => provider.GetRequiredService<IPortcullisStore>();

    /// <summary>The backend behind the optional session cache, for the work that needs its own type (key ring, re-encryption).</summary>
    public static IPortcullisStore Backend(IPortcullisStore store) => store is SessionCachingStore cached ? cached.Inner : store;

    /// <summary>
    /// The operator's PostgreSQL connection string, with Npgsql's automatic preparation switched on unless it sets
    /// <c>Max Auto Prepare</c> itself: the store runs the same few statements on every request, and a prepared statement
    /// skips parsing and planning (the session read takes less than half the time). Behind a pooler that cannot keep
    /// prepared statements (PgBouncer in transaction mode before 1.21), set <c>Max Auto Prepare=0</c>.
    /// </summary>
    internal static string PostgresConnectionString(string connectionString)
    {
        // Any spelling of the setting ("Max Auto Prepare", "MaxAutoPrepare") means the operator decided.
        if (connectionString.Replace(" ", string.Empty, StringComparison.Ordinal).Contains("AutoPrepare", StringComparison.OrdinalIgnoreCase))
        {
            return connectionString;
        }

        return new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 32, AutoPrepareMinUsages = 2 }.ConnectionString;
    }

    /// <summary>Why the connection string cannot be parsed for its store kind, or null when it can (the validator names the key).</summary>
    public static string? ConnectionStringProblem(StoreOptions store)
    {
        try
        {
            switch (store.Kind)
            {
                case StoreKinds.Postgres:
                    _ = new NpgsqlConnectionStringBuilder(store.ConnectionString);
                    break;
                case StoreKinds.Redis:
                    _ = StackExchange.Redis.ConfigurationOptions.Parse(store.ConnectionString);
                    break;
                case StoreKinds.Sqlite:
                    _ = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(store.ConnectionString);
                    break;
            }

            return null;
        }
        catch (ArgumentException exception)
        {
            return exception.Message;
        }
    }

    /// <summary>Where the store is, for messages: host and port or file, never a password.</summary>
    public static string Describe(StoreOptions store)
    {
        try
        {
            return store.Kind switch
            {
                StoreKinds.Postgres => new NpgsqlConnectionStringBuilder(store.ConnectionString) is var pg ? $"{pg.Host}:{pg.Port}/{pg.Database}" : "",
                StoreKinds.Redis => string.Join(",", StackExchange.Redis.ConfigurationOptions.Parse(store.ConnectionString).EndPoints),
                _ => new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(store.ConnectionString).DataSource,
            };
        }
        catch (ArgumentException)
        {
            return "(unparsable)";
        }
    }
}
