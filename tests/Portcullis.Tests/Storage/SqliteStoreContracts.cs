using Microsoft.Extensions.Time.Testing;
using Portcullis.Storage;
using Portcullis.Storage.Sqlite;
using Portcullis.Tests.Storage.Contracts;

namespace Portcullis.Tests.Storage;

/// <summary>How the SQLite contract suites get their store.</summary>
internal static class SqliteContract
{
    /// <summary>A fresh database file in its own folder, deleted with the test.</summary>
    public static IPortcullisStore Create(Action<Action> afterDispose, TimeProvider? time = null)
    {
        var directory = Directory.CreateTempSubdirectory("portcullis-store-").FullName;
        afterDispose(() =>
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        });
        return new SqliteStore($"Data Source={Path.Combine(directory, "store.db")}", time);
    }
}

public sealed class SqliteUserStoreContractTests : UserStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => Task.FromResult(SqliteContract.Create(AfterDispose));
}

public sealed class SqliteGrantStoreContractTests : GrantStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => Task.FromResult(SqliteContract.Create(AfterDispose));
}

public sealed class SqliteSessionStoreContractTests : SessionStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => Task.FromResult(SqliteContract.Create(AfterDispose));
}

public sealed class SqliteLoginTransactionStoreContractTests : LoginTransactionStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => Task.FromResult(SqliteContract.Create(AfterDispose));
}

public sealed class SqliteLeaseStoreContractTests : LeaseStoreContractTests<IPortcullisStore>
{
    // SQLite has no clock of its own: leases run out by the node's, which this test moves instead of sleeping.
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    protected override Task<IPortcullisStore> CreateStoreAsync() => Task.FromResult(SqliteContract.Create(AfterDispose, _clock));

    protected override Task LetStoreTimePassAsync(TimeSpan span)
    {
        _clock.Advance(span);
        return Task.CompletedTask;
    }
}

public sealed class SqliteRevocationOutboxContractTests : RevocationOutboxContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => Task.FromResult(SqliteContract.Create(AfterDispose));
}

public sealed class SqliteAuditStoreContractTests : AuditStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => Task.FromResult(SqliteContract.Create(AfterDispose));
}

public sealed class SqliteStoreLifecycleContractTests : StoreLifecycleContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => Task.FromResult(SqliteContract.Create(AfterDispose));
}
