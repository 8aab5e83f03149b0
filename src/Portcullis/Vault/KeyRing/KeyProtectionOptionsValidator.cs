using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Vault.KeyRing;

/// <summary>Checks <c>Portcullis:KeyProtection</c>; runs beside the configuration's own validator and reports with it.</summary>
internal sealed class KeyProtectionOptionsValidator : IValidateOptions<PortcullisOptions>
{
    private const string Section = PortcullisOptions.SectionName + ":KeyProtection";

    public ValidateOptionsResult Validate(string? name, PortcullisOptions options)
    {
        var errors = new List<string>();
        var keyProtection = options.KeyProtection;
        if (keyProtection.MasterKey is null)
        {
            if (options.Store.Kind is StoreKinds.Postgres or StoreKinds.Redis)
            {
                errors.Add($"{Section}:MasterKey is required with Store:Kind '{options.Store.Kind}': the shared key ring is encrypted with it (base64 of 32 random bytes).");
            }
        }
        else if (MasterKey.TryDecode(keyProtection.MasterKey) is null)
        {
            errors.Add($"{Section}:MasterKey must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`).");
        }

        for (var i = 0; i < keyProtection.PreviousMasterKeys.Count; i++)
        {
            if (MasterKey.TryDecode(keyProtection.PreviousMasterKeys[i]) is null)
            {
                errors.Add($"{Section}:PreviousMasterKeys:{i} must be base64 of exactly 32 bytes.");
            }
        }

        if (keyProtection.RotationInterval < TimeSpan.FromDays(1))
        {
            errors.Add($"{Section}:RotationInterval must be at least one day.");
        }

        if (keyProtection.RefreshInterval <= TimeSpan.Zero)
        {
            errors.Add($"{Section}:RefreshInterval must be positive.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
