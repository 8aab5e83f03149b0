using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Portcullis.Vault.KeyRing;

/// <summary>
/// Reads the key ring once the store is ready (registered after the store's initializer), so a master key file that is
/// unreadable, malformed or open to other users stops start-up with a message naming the key, and a ring written before
/// sealing is sealed before the first request (docs/adr/0023).
/// </summary>
internal sealed class KeyRingStartup(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = services.GetRequiredService<MasterKey>();
        _ = services.GetRequiredService<IKeyManager>().GetAllKeys();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
