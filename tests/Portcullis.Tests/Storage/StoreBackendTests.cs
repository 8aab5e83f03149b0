using Npgsql;
using Portcullis.Storage;
using Portcullis.Storage.Postgres;
using Portcullis.Storage.Redis;
using Portcullis.Storage.Sqlite;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Storage;

public sealed class SqliteStoreContractTests : StoreContractTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("portcullis-store-").FullName;

    protected override Task<IPortcullisStore> CreateStoreAsync() =>
        Task.FromResult<IPortcullisStore>(new SqliteStore($"Data Source={Path.Combine(_directory, "store.db")}"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}

public sealed class PostgresStoreContractTests : StoreContractTests
{
    protected override async Task<IPortcullisStore> CreateStoreAsync() =>
        new PostgresStore(NpgsqlDataSource.Create(StoreRegistration.PostgresConnectionString(await TestServices.CreatePostgresDatabaseAsync())));
}

public sealed class RedisStoreContractTests : StoreContractTests
{
    protected override Task<IPortcullisStore> CreateStoreAsync() =>
        Task.FromResult<IPortcullisStore>(new RedisStore(TestServices.RedisConfiguration, TestServices.NewRedisPrefix()));
}
