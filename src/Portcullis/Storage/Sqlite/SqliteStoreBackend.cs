using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Portcullis.Configuration;

namespace Portcullis.Storage.Sqlite;

/// <summary>The embedded default store: one SQLite file, its key ring in a folder beside it.</summary>
internal sealed class SqliteStoreBackend : IStoreBackend
{
    public string Kind => StoreKinds.Sqlite;

    public string? FindConnectionStringProblem(string connectionString)
    {
        try
        {
            _ = new SqliteConnectionStringBuilder(connectionString);
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
            return new SqliteConnectionStringBuilder(connectionString).DataSource;
        }
        catch (ArgumentException)
        {
            return "(unparsable)";
        }
    }

    public IPortcullisStore Create(IServiceProvider services, StoreOptions options) => 
        new SqliteStore(StorePaths.ResolveConnectionString(services), services.GetRequiredService<TimeProvider>());

    public ISharedKeyRingRepository CreateKeyRing(IServiceProvider services, IPortcullisStore store)
    {
        // Beside the store by default, so a restart (or a copy of the data folder) keeps every session readable.
        var directory = StorePaths.KeyRingDirectory(services);
        StorePaths.CreatePrivateDirectory(directory);
        return new DirectoryKeyRingRepository(new DirectoryInfo(directory));
    }

    public IStoreChangeFeed? CreateChangeFeed(IServiceProvider services, IPortcullisStore store) =>
        new SqliteChangeFeed(((SqliteStore)store).ConnectionString);

    // A local file is there or not, but it can be busy past the busy timeout (another process holding a write lock) or
    // on a full disk: both pass, and deserve a 503 and a retry rather than a 500.
    public bool IsUnavailable(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED or SQLitePCL.raw.SQLITE_FULL };
}
