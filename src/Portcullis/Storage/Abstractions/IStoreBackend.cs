using Portcullis.Configuration;

namespace Portcullis.Storage;

/// <summary>
/// One kind of store (<c>Portcullis:Store:Kind</c>) as a package provides it: how to check and describe its connection
/// string, how to create the store and the Data Protection key ring beside it, and which of its exceptions mean "the
/// store cannot be reached right now". SQLite ships in the core; PostgreSQL and Redis come with their own packages and
/// register through <see cref="PortcullisBuilder.AddStore"/> (docs/adr/0018).
/// </summary>
public interface IStoreBackend
{
    /// <summary>The value of <c>Portcullis:Store:Kind</c> that selects this backend, e.g. <c>postgres</c>.</summary>
    string Kind { get; }

    /// <summary>Why <paramref name="connectionString"/> cannot be parsed, or null when it can. The message must not echo a password.</summary>
    string? FindConnectionStringProblem(string connectionString);

    /// <summary>Where the store is, for messages: host and port or file, never a password.</summary>
    string Describe(string connectionString);

    /// <summary>Creates the store (once per process: it is a singleton shared by every request).</summary>
    IPortcullisStore Create(IServiceProvider services, StoreOptions options);

    /// <summary>The key ring every node using <paramref name="store"/> shares (the store itself, or files beside it).</summary>
    ISharedKeyRingRepository CreateKeyRing(IServiceProvider services, IPortcullisStore store);

    /// <summary>
    /// The channel that tells this node about session and grant changes made through the others (ADR 0040), or null
    /// when the backend has none: the per-node session cache is then off and every request reads the store.
    /// </summary>
    IStoreChangeFeed? CreateChangeFeed(IServiceProvider services, IPortcullisStore store) => null;

    /// <summary>
    /// True when <paramref name="exception"/> means the store cannot be reached right now (restart, failover, network
    /// cut) rather than a bug: the request then gets 503 with <c>Retry-After</c> and the session is not ended.
    /// </summary>
    bool IsUnavailable(Exception exception);
}
