using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption;
using Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel;
using Microsoft.Extensions.DependencyInjection;

namespace Portcullis.Vault;

internal static class DataProtectionSetup
{
    /// <summary>
    /// AES-256-GCM for every payload; the key ring is persisted (beside the store by default),
    /// so restarts keep sessions, and key rotation only adds keys: old ones stay to decrypt, nobody is logged out.
    /// </summary>
    public static void Configure(IServiceCollection services)
    {
        services.AddDataProtection()
            .SetApplicationName("Portcullis")
            .UseCryptographicAlgorithms(new AuthenticatedEncryptorConfiguration
            {
                EncryptionAlgorithm = EncryptionAlgorithm.AES_256_GCM,
                ValidationAlgorithm = ValidationAlgorithm.HMACSHA256,
            });
    }
}
