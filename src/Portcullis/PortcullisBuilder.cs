using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Portcullis.Configuration;
using Portcullis.Storage;
using Portcullis.Storage.Sqlite;

namespace Portcullis;

/// <summary>Returned by <see cref="PortcullisServiceCollectionExtensions.AddPortcullis(IServiceCollection, Microsoft.Extensions.Configuration.IConfiguration)"/> for further configuration.</summary>
public sealed class PortcullisBuilder(IServiceCollection services)
{
    /// <summary>The application's services.</summary>
    public IServiceCollection Services { get; } = services;

    /// <summary>
    /// Uses the embedded SQLite store (the default when no other store is chosen), optionally adjusting
    /// <c>Portcullis:Store</c> (e.g. its <see cref="StoreOptions.ConnectionString"/>).
    /// </summary>
    public PortcullisBuilder AddSqliteStore(Action<StoreOptions>? configure = null) => AddStore(new SqliteStoreBackend(), configure);

    /// <summary>
    /// Registers <paramref name="backend"/> and makes it the store: its <see cref="IStoreBackend.Kind"/> replaces
    /// <c>Portcullis:Store:Kind</c> from configuration, then <paramref name="configure"/> may adjust the rest of the
    /// section. Safe to call twice; when several stores are chosen, the last call wins. Store packages call this from
    /// their own builder methods (<c>AddPostgreSqlStore</c>, <c>AddRedisStore</c>).
    /// </summary>
    public PortcullisBuilder AddStore(IStoreBackend backend, Action<StoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(backend);

        // One backend object per kind however often this is called (TryAddEnumerable compares implementation types).
        Services.TryAddEnumerable(ServiceDescriptor.Singleton(backend));

        // Configure (not PostConfigure) runs after binding and in registration order: the last explicit choice wins,
        // and post-configuration and validation see the chosen kind.
        Services.Configure<PortcullisOptions>(options =>
        {
            options.Store.Kind = backend.Kind;
            configure?.Invoke(options.Store);
        });
        return this;
    }
}
