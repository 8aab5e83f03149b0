using Npgsql;
using Portcullis.Storage;
using Portcullis.Storage.PostgreSql;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Storage.Contracts;

namespace Portcullis.Tests.Storage;

/// <summary>How the PostgreSQL contract suites get their store.</summary>
internal static class PostgresContract
{
    /// <summary>A store on a fresh database of the test server.</summary>
    public static async Task<IPortcullisStore> CreateAsync() =>
        new PostgresStore(NpgsqlDataSource.Create(PostgresConnectionStrings.ForGateway(await TestServices.CreatePostgresDatabaseAsync())));
}

public sealed class PostgresUserStoreContractTests : UserStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => PostgresContract.CreateAsync();
}

public sealed class PostgresGrantStoreContractTests : GrantStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => PostgresContract.CreateAsync();
}

public sealed class PostgresSessionStoreContractTests : SessionStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => PostgresContract.CreateAsync();
}

public sealed class PostgresLoginTransactionStoreContractTests : LoginTransactionStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => PostgresContract.CreateAsync();
}

public sealed class PostgresLeaseStoreContractTests : LeaseStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => PostgresContract.CreateAsync();

    // Real: leases run out by the server's own clock, which no test can move; the store gets no node clock at all.
    protected override Task LetStoreTimePassAsync(TimeSpan span) => Task.Delay(span);
}

public sealed class PostgresRevocationOutboxContractTests : RevocationOutboxContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => PostgresContract.CreateAsync();
}

public sealed class PostgresAuditStoreContractTests : AuditStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => PostgresContract.CreateAsync();
}

public sealed class PostgresStoreLifecycleContractTests : StoreLifecycleContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => PostgresContract.CreateAsync();
}
