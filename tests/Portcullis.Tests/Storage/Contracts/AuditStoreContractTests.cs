using Portcullis.Storage;

namespace Portcullis.Tests.Storage.Contracts;

/// <summary>The contract of the audit log (<see cref="IAuditStore"/>).</summary>
public abstract class AuditStoreContractTests<TStore> : StoreContractTests<TStore>
    where TStore : class, IStoreLifecycle, IAuditStore
{
    [Fact]
    public async Task TheAuditLogIsQueriedNewestFirstWithFilters()
    {
        await Store.AppendAuditAsync(new AuditRecord(0, Now, "login", "success", "alice", "main", "h1"), default);
        await Store.AppendAuditAsync(new AuditRecord(0, Now + TimeSpan.FromSeconds(1), "refresh", "success", "alice", "main", Detail: "rotated"), default);
        await Store.AppendAuditAsync(new AuditRecord(0, Now + TimeSpan.FromSeconds(2), "login", "failed", "bob", Actor: "worker"), default);

        var all = await Store.QueryAuditAsync(new AuditQuery(), default);
        Assert.Equal(["failed", "success", "success"], all.Select(e => e.Outcome));
        Assert.Equal("login", all[2].Event);
        Assert.Equal(("alice", "main", "h1", null, null), (all[2].UserId, all[2].Provider, all[2].SessionHandle, all[2].Actor, all[2].Detail));
        Assert.Equal(Now, all[2].At);
        Assert.True(all[0].Id > all[1].Id && all[1].Id > all[2].Id);
        Assert.Equal(("bob", null, "worker"), (all[0].UserId, all[0].Provider, all[0].Actor));

        Assert.Equal(["refresh", "login"], (await Store.QueryAuditAsync(new AuditQuery(UserId: "alice"), default)).Select(e => e.Event));
        Assert.Equal(["bob", "alice"], (await Store.QueryAuditAsync(new AuditQuery(Event: "login"), default)).Select(e => e.UserId));
        Assert.Equal(2, (await Store.QueryAuditAsync(new AuditQuery(Since: Now + TimeSpan.FromSeconds(1)), default)).Count);
        Assert.Single(await Store.QueryAuditAsync(new AuditQuery(Limit: 1), default));
    }
}
