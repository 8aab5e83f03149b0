namespace Portcullis.Storage;

/// <summary>
/// Every entity store in one: what a complete backend implements. The gateway registers the one backend object under
/// each entity interface, so a consumer asks only for the entities it touches while a request still costs one object
/// and, for the hot path, one round trip (<see cref="ISessionStore.GetSessionAndGrantAsync"/>). Values that are secret
/// arrive here already encrypted or hashed. Each entity interface has its own contract test suite, so a new backend
/// can be written and proven entity by entity (docs/adr/0018).
/// </summary>
public interface IPortcullisStore :
    IStoreLifecycle,
    IUserStore,
    ILoginTransactionStore,
    IGrantStore,
    ISessionStore,
    ILeaseStore,
    IRevocationOutbox,
    IAuditStore;
