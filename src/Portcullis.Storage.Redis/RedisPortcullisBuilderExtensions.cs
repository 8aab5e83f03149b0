using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Portcullis.Configuration;
using Portcullis.Storage;
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

    /// <summary>
    /// Stateless mode's cross-node refresh coordinator on the Redis server of
    /// <c>Portcullis:Session:StatelessRefreshCoordinator</c> (ADR 0033): a lock and a sealed, short-lived result per
    /// refresh token, so only one node presents it. Inert unless that key is set. Safe to call twice.
    /// </summary>
    public static PortcullisBuilder AddRedisRefreshCoordinator(this PortcullisBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IRefreshCoordinator, RedisRefreshCoordinator>());
        return builder;
    }
}
