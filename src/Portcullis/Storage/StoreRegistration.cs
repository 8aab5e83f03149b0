using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Storage.Sqlite;

namespace Portcullis.Storage;

/// <summary>
/// Creates the store of the backend <c>Portcullis:Store:Kind</c> selects among those registered (SQLite always;
/// PostgreSQL and Redis by their packages' builder methods), and registers it under every entity interface.
/// </summary>
internal static class StoreRegistration
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStoreBackend, SqliteStoreBackend>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PortcullisOptions>, StoreOptionsValidator>());
        services.TryAddSingleton<StoreFailures>();
        services.AddMetrics();
        services.TryAddSingleton<PortcullisMetrics>();
        services.TryAddSingleton<IPortcullisStore>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<PortcullisOptions>>().Value;
            if (options.Session.Mode == SessionModes.Stateless)
            {
                return NoStore.Create(provider.GetRequiredService<ILoggerFactory>().CreateLogger("Portcullis.Audit"));
            }

            var selected = Selected(provider);
            var backend = MeteredStore.Wrap(selected.Create(provider, options.Store), selected.Kind, provider.GetRequiredService<PortcullisMetrics>(), provider.GetRequiredService<TimeProvider>());
            if (options.Session.CacheDuration <= TimeSpan.Zero)
            {
                return backend;
            }

            // A backend without a change feed cannot tell this node what other nodes changed: no cache then (ADR 0040).
            var feed = selected.CreateChangeFeed(provider, Backend(backend));
            return feed is null
                ? backend
                : new SessionCachingStore(
                    backend,
                    options.Session.CacheDuration,
                    options.Session.CacheSize,
                    feed,
                    provider.GetRequiredService<TimeProvider>(),
                    provider.GetRequiredService<ILoggerFactory>().CreateLogger<SessionCachingStore>());
        });

        // One object behind every entity interface: consumers ask for the smallest one, a request still costs one backend.
        services.TryAddSingleton<IStoreLifecycle>(Resolve);
        services.TryAddSingleton<IUserStore>(Resolve);
        services.TryAddSingleton<ILoginTransactionStore>(Resolve);
        services.TryAddSingleton<IGrantStore>(Resolve);
        services.TryAddSingleton<ISessionStore>(Resolve);
        services.TryAddSingleton<ILeaseStore>(Resolve);
        services.TryAddSingleton<IRevocationOutbox>(Resolve);
        services.TryAddSingleton<IAuditStore>(Resolve);
    }

    /// <summary>
    /// The backend registered for the configured kind (the last one registered for it, so an application can replace a
    /// built-in one). Validation at start has already refused a kind without a backend.
    /// </summary>
    public static IStoreBackend Selected(IServiceProvider provider)
    {
        var kind = provider.GetRequiredService<IOptions<PortcullisOptions>>().Value.Store.Kind;
        return provider.GetServices<IStoreBackend>().LastOrDefault(backend => backend.Kind == kind)
            ?? throw new InvalidOperationException($"{PortcullisOptions.SectionName}:Store:Kind '{kind}' has no registered store backend.");
    }

    /// <summary>The backend behind the session cache, for the work that needs its own type (key ring, re-encryption).</summary>
    public static IPortcullisStore Backend(IPortcullisStore store) => store switch
    {
        SessionCachingStore cached => Backend(cached.Inner),
        MeteredStore metered => metered.Inner,
        _ => store,
    };

    private static IPortcullisStore Resolve(IServiceProvider provider) => provider.GetRequiredService<IPortcullisStore>();
}
