using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Storage;

namespace Portcullis.Vault.KeyRing;

/// <summary>
/// Puts the Data Protection key ring where the store is (files beside SQLite, the PostgreSQL or Redis store itself),
/// encrypts its keys and seals every element with the master key (configured, or a key file beside SQLite), rotates
/// them every <c>RotationInterval</c>, and reloads it when another node adds a key (docs/adr/0013, docs/adr/0023).
/// </summary>
internal static class KeyRingSetup
{
    public static void Configure(IServiceCollection services)
    {
        services.TryAddSingleton<KeyRingChangeSignal>();
        services.TryAddSingleton(MasterKeySource.Resolve);
        services.AddHostedService<KeyRingWatcher>();
        services.AddOptions<KeyManagementOptions>()
            .Configure<IServiceProvider>((keyManagement, provider) =>
            {
                var options = provider.GetRequiredService<IOptions<PortcullisOptions>>().Value;
                var masterKey = provider.GetRequiredService<MasterKey>();
                keyManagement.XmlRepository = new SealedKeyRingRepository(
                    Repository(provider),
                    masterKey,
                    acceptsUnencryptedLegacyKeys: options.Store.Kind == StoreKinds.Sqlite,
                    provider.GetRequiredService<ILoggerFactory>().CreateLogger("Portcullis.Vault"));
                keyManagement.XmlEncryptor = new MasterKeyXmlEncryptor(masterKey);
                keyManagement.NewKeyLifetime = options.KeyProtection.RotationInterval;
            });
        DecorateKeyManager(services);
    }

    /// <summary>The selected backend's key ring: files beside SQLite, or the shared store itself (docs/adr/0018).</summary>
    private static ISharedKeyRingRepository Repository(IServiceProvider provider) =>
        StoreRegistration.Selected(provider).CreateKeyRing(provider, StoreRegistration.Backend(provider.GetRequiredService<IPortcullisStore>()));

    /// <summary>Wraps the key manager Data Protection registered, keeping its own construction.</summary>
    private static void DecorateKeyManager(IServiceCollection services)
    {
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(IKeyManager));
        if (registered is null || registered.ImplementationType == typeof(SharedKeyRingManager))
        {
            return;
        }

        services.Remove(registered);
        services.AddSingleton<IKeyManager>(provider =>
        {
            var inner = registered.ImplementationInstance as IKeyManager
                ?? registered.ImplementationFactory?.Invoke(provider) as IKeyManager
                ?? (IKeyManager)ActivatorUtilities.CreateInstance(provider, registered.ImplementationType!);
            return new SharedKeyRingManager(inner, provider.GetRequiredService<KeyRingChangeSignal>());
        });
    }
}
