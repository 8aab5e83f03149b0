using Portcullis.Storage;
using Portcullis.Storage.Redis;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Storage.Contracts;

namespace Portcullis.Tests.Storage;

/// <summary>How the Redis contract suites get their store.</summary>
internal static class RedisContract
{
    /// <summary>A store under a fresh key prefix of the test server.</summary>
    public static Task<IPortcullisStore> CreateAsync() =>
        Task.FromResult<IPortcullisStore>(new RedisStore(TestServices.RedisConfiguration, TestServices.NewRedisPrefix()));
}

public sealed class RedisUserStoreContractTests : UserStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => RedisContract.CreateAsync();
}

public sealed class RedisGrantStoreContractTests : GrantStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => RedisContract.CreateAsync();
}

public sealed class RedisSessionStoreContractTests : SessionStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => RedisContract.CreateAsync();
}

public sealed class RedisLoginTransactionStoreContractTests : LoginTransactionStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => RedisContract.CreateAsync();
}

public sealed class RedisLeaseStoreContractTests : LeaseStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => RedisContract.CreateAsync();

    // Real: leases run out by the server's own clock, which no test can move; the store gets no node clock at all.
    protected override Task LetStoreTimePassAsync(TimeSpan span) => Task.Delay(span);
}

public sealed class RedisRevocationOutboxContractTests : RevocationOutboxContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => RedisContract.CreateAsync();
}

public sealed class RedisAuditStoreContractTests : AuditStoreContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => RedisContract.CreateAsync();
}

public sealed class RedisStoreLifecycleContractTests : StoreLifecycleContractTests<IPortcullisStore>
{
    protected override Task<IPortcullisStore> CreateStoreAsync() => RedisContract.CreateAsync();
}
