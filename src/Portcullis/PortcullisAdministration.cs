using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Storage;
using Portcullis.Vault.KeyRing;

namespace Portcullis;

/// <summary>
/// Operators' commands over a configured service provider (the gateway's <c>migrate</c>, <c>rotate-keys</c> and
/// <c>reencrypt</c>); they run without starting the server, so they can run beside live nodes.
/// </summary>
public static class PortcullisAdministration
{
    /// <summary>Creates or migrates the store's schema; an unreachable store throws <see cref="StoreUnavailableException"/> naming the key.</summary>
    public static async Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        using var initializer = new StoreInitializer(
            services.GetRequiredService<IStoreLifecycle>(),
            services,
            services.GetRequiredService<IOptions<PortcullisOptions>>(),
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<Diagnostics.PortcullisMetrics>(),
            services.GetRequiredService<ILogger<StoreInitializer>>());
        await initializer.InitializeStoreAsync(cancellationToken);
    }

    /// <summary>
    /// Adds a new Data Protection key, active at once: this process and, within <c>KeyProtection:RefreshInterval</c>,
    /// every node encrypt new data with it. Old keys stay in the ring, so every existing ciphertext stays readable.
    /// </summary>
    public static async Task<(Guid KeyId, DateTimeOffset ActivationDate)> RotateKeysAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await MigrateAsync(services, cancellationToken);
        var options = services.GetRequiredService<IOptions<PortcullisOptions>>().Value;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var key = services.GetRequiredService<IKeyManager>().CreateNewKey(now, now + options.KeyProtection.RotationInterval);
        Diagnostics.Log.KeyCreated(services.GetRequiredService<ILoggerFactory>().CreateLogger("Portcullis.Vault"), key.KeyId, key.ActivationDate);
        return (key.KeyId, key.ActivationDate);
    }

    /// <summary>Re-encrypts every stored value that is not under the newest key (run after <see cref="RotateKeysAsync"/>).</summary>
    public static async Task<ReencryptionReport> ReencryptAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await MigrateAsync(services, cancellationToken);
        return await services.GetRequiredService<Reencryptor>().RunAsync(cancellationToken);
    }
}
