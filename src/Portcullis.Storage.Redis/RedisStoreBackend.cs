using Portcullis.Configuration;
using StackExchange.Redis;

namespace Portcullis.Storage.Redis;

/// <summary><c>Store:Kind = redis</c>: one Redis server (or primary) shared by every gateway node, the key ring in it.</summary>
internal sealed class RedisStoreBackend : IStoreBackend
{
    public string Kind => StoreKinds.Redis;

    public string? FindConnectionStringProblem(string connectionString)
    {
        try
        {
            _ = ConfigurationOptions.Parse(connectionString);
            return null;
        }
        catch (ArgumentException exception)
        {
            return exception.Message;
        }
    }

    public string Describe(string connectionString)
    {
        try
        {
            return string.Join(",", ConfigurationOptions.Parse(connectionString).EndPoints);
        }
        catch (ArgumentException)
        {
            return "(unparsable)";
        }
    }

    public IPortcullisStore Create(IServiceProvider services, StoreOptions options) => new RedisStore(options.ConnectionString, options.KeyPrefix);

    public ISharedKeyRingRepository CreateKeyRing(IServiceProvider services, IPortcullisStore store) => new RedisXmlRepository((RedisStore)store);

    public IStoreChangeFeed? CreateChangeFeed(IServiceProvider services, IPortcullisStore store) => new RedisChangeFeed((RedisStore)store);

    public bool IsUnavailable(Exception exception) => exception switch
    {
        RedisConnectionException or RedisTimeoutException => true,
        RedisServerException redis => PassingStates.Any(state => redis.Message.StartsWith(state, StringComparison.Ordinal)),
        _ => false,
    };

    // Error replies of a server that cannot serve right now but will: loading its data, busy in a script, a replica
    // during a failover (READONLY, MASTERDOWN), too few replicas for writes (NOREPLICAS), out of memory under noeviction
    // (OOM), a cluster reconfiguring (CLUSTERDOWN, TRYAGAIN).
    private static readonly string[] PassingStates = ["LOADING", "BUSY", "READONLY", "MASTERDOWN", "NOREPLICAS", "OOM", "CLUSTERDOWN", "TRYAGAIN"];
}
