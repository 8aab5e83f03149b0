using Npgsql;
using StackExchange.Redis;

namespace Portcullis.Storage;

/// <summary>
/// Tells "the store cannot be reached right now" (a restart, a failover, a network cut) from bugs. Such failures in
/// the request path become 503 with <c>Retry-After</c>: the session is not ended, the request may be retried.
/// </summary>
internal static class StoreFailures
{
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        StoreUnavailableException => true,
        PostgresException postgres => postgres.IsTransient,
        NpgsqlException => true, // no server answer at all: connection refused, reset, pool timeout
        RedisConnectionException or RedisTimeoutException => true,
        RedisServerException redis => redis.Message.StartsWith("LOADING", StringComparison.Ordinal) || redis.Message.StartsWith("BUSY", StringComparison.Ordinal),
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsUnavailable),
        _ => false,
    };
}

/// <summary>
/// The configured store could not be reached. At start it stops the gateway with a message naming
/// <c>Portcullis:Store:ConnectionString</c>; later, in a request, it becomes 503.
/// </summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : InvalidOperationException(message, inner);
