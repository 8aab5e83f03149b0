namespace Portcullis.Storage;

/// <summary>
/// Tells "the store cannot be reached right now" (a restart, a failover, a network cut) from bugs. Such failures in
/// the request path become 503 with <c>Retry-After</c>: the session is not ended, the request may be retried. Each
/// registered backend knows its own driver's exceptions (<see cref="IStoreBackend.IsUnavailable"/>).
/// </summary>
internal sealed class StoreFailures(IEnumerable<IStoreBackend> backends)
{
    private readonly IStoreBackend[] _backends = [.. backends];

    public bool IsUnavailable(Exception exception) => exception switch
    {
        StoreUnavailableException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsUnavailable),
        _ => _backends.Any(backend => backend.IsUnavailable(exception)),
    };
}

/// <summary>
/// The configured store could not be reached. At start it stops the gateway with a message naming
/// <c>Portcullis:Store:ConnectionString</c>; later, in a request, it becomes 503.
/// </summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : InvalidOperationException(message, inner);
