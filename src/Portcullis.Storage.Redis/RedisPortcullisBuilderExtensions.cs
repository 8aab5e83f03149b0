using Portcullis.Configuration;
using Portcullis.Storage.Redis;

namespace Portcullis;

/// <summary>Chooses the Redis store on <see cref="PortcullisBuilder"/>.</summary>
public static class RedisPortcullisBuilderExtensions
{
    /// <summary>
    /// Uses Redis as the store (<c>Portcullis:Store:Kind = redis</c>), shared by every gateway node, with the Data
    /// Protection key ring in the same server under <c>Portcullis:Store:KeyPrefix</c>. The configuration comes from
    /// <c>Portcullis:Store:ConnectionString</c> unless <paramref name="configure"/> sets it. Safe to call twice; the last
    /// store chosen wins.
    /// </summary>
    public static PortcullisBuilder AddRedisStore(this PortcullisBuilder builder, Action<StoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddStore(new RedisStoreBackend(), configure);
    }
}
