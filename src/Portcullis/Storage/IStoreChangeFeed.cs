namespace Portcullis.Storage;

/// <summary>
/// The channel a shared store offers its nodes to tell each other "this session or grant changed" (ADR 0040): PostgreSQL
/// <c>LISTEN/NOTIFY</c>, Redis pub/sub, for SQLite a watch on the file's commit counter. The per-node session cache
/// keeps copies only while the channel is known to deliver: until <see cref="IStoreChangeObserver.Listening"/> and after
/// <see cref="IStoreChangeObserver.Lost"/> every read goes to the store.
/// </summary>
public interface IStoreChangeFeed : IAsyncDisposable
{
    /// <summary>
    /// Starts listening in the background and keeps doing so: when the channel breaks it reports
    /// <see cref="IStoreChangeObserver.Lost"/>, reconnects on its own and reports
    /// <see cref="IStoreChangeObserver.Listening"/> again only once it is subscribed again. Returns at once.
    /// </summary>
    void Start(IStoreChangeObserver observer);

    /// <summary>
    /// Announces <paramref name="change"/> (an opaque text under 4,000 characters) to every node listening, this one
    /// included. Called after the change reached the store.
    /// </summary>
    Task PublishAsync(string change, CancellationToken cancellationToken);
}

/// <summary>What a <see cref="IStoreChangeFeed"/> reports; its methods are called one at a time and must not block.</summary>
public interface IStoreChangeObserver
{
    /// <summary>Subscribed (first time, or again after a break): anything may have changed while nobody listened.</summary>
    void Listening();

    /// <summary>The channel broke (connection killed, server restarted, no answer to a heartbeat); changes may be missed.</summary>
    void Lost(Exception? cause);

    /// <summary>A change some node announced with <see cref="IStoreChangeFeed.PublishAsync"/>, or <c>*</c> for "anything may have changed".</summary>
    void Changed(string change);
}
