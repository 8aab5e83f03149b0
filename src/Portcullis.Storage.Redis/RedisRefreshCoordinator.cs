using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using StackExchange.Redis;

namespace Portcullis.Storage.Redis;

/// <summary>
/// Stateless mode's cross-node refresh coordinator on Redis (<c>Portcullis:Session:StatelessRefreshCoordinator</c>, ADR
/// 0033). Two keys per refresh token, both named by its hash: <c>portcullis:refresh-lock:{hash}</c> (<c>SET NX PX</c>
/// with a random value, released by a compare-and-delete script so a holder whose lock expired cannot release the next
/// holder's) and <c>portcullis:refresh-result:{hash}</c> (the result the core sealed with the key ring, with a TTL).
/// Redis sees no token in clear. The connection fails fast when Redis is down, so the core falls back at once; a Redis that
/// hangs is given up by the core after a bounded wait (<c>StatelessRefresh.CoordinatorStepLimit</c>).
/// </summary>
internal sealed class RedisRefreshCoordinator : IRefreshCoordinator
{
    private const string Prefix = "portcullis:";

    // KEYS: lock. ARGV: the holder's value. Deletes the lock only while it is still this holder's.
    private const string Release = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private readonly Lazy<Task<ConnectionMultiplexer>> _connection;

    // The options are read at the first use, not here: start-up validation resolves this class (FindConfigurationProblem).
    public RedisRefreshCoordinator(IOptions<PortcullisOptions> options) =>
        _connection = new Lazy<Task<ConnectionMultiplexer>>(() =>
        {
            var configuration = ConfigurationOptions.Parse(options.Value.Session.StatelessRefreshCoordinator ?? "");
            // As the Redis store: reconnect in the background, meanwhile fail each command at once (the node falls back).
            configuration.AbortOnConnectFail = false;
            configuration.BacklogPolicy = BacklogPolicy.FailFast;
            configuration.ReconnectRetryPolicy = new LinearRetry(500);
            return ConnectionMultiplexer.ConnectAsync(configuration);
        });

    public string? FindConfigurationProblem(string configuration)
    {
        try
        {
            _ = ConfigurationOptions.Parse(configuration);
            return null;
        }
        catch (ArgumentException exception)
        {
            return exception.Message;
        }
    }

    public async Task<IAsyncDisposable?> TryLockAsync(string key, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var database = (await _connection.Value).GetDatabase();
        var lockKey = (RedisKey)(Prefix + "refresh-lock:" + key);
        var holder = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        return await database.StringSetAsync(lockKey, holder, lifetime, When.NotExists) ? new Lease(database, lockKey, holder) : null;
    }

    public async Task PublishAsync(string key, string sealedResult, TimeSpan lifetime, CancellationToken cancellationToken) =>
        await (await _connection.Value).GetDatabase().StringSetAsync(Prefix + "refresh-result:" + key, sealedResult, lifetime);

    public async Task<string?> ReadResultAsync(string key, CancellationToken cancellationToken) =>
        await (await _connection.Value).GetDatabase().StringGetAsync(Prefix + "refresh-result:" + key);

    private sealed class Lease(IDatabase database, RedisKey lockKey, string holder) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await database.ScriptEvaluateAsync(Release, [lockKey], [holder]);
            }
            catch (Exception exception) when (exception is RedisException or RedisTimeoutException)
            {
                // The lock expires on its own (PX); the result, if any, is already published.
            }
        }
    }
}
