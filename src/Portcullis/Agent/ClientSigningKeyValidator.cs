using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Agent;

/// <summary>
/// Start-up check that every <c>private_key_jwt</c> key can be read and is a private EC or RSA key. The message names
/// the key and never its value: the value may be the key itself.
/// </summary>
internal sealed class ClientSigningKeyValidator : IValidateOptions<PortcullisOptions>
{
    public ValidateOptionsResult Validate(string? name, PortcullisOptions options)
    {
        var errors = new List<string>();
        foreach (var (providerName, provider) in options.Providers)
        {
            if (provider.ClientAuthentication != ClientAuthenticationMethods.PrivateKeyJwt)
            {
                continue;
            }

            var key = $"{PortcullisOptions.SectionName}:Providers:{providerName}";
            Check($"{key}:ClientSigningKey", provider.ClientSigningKey, provider.ClientSigningKeyId, errors);
            Check($"{key}:NextClientSigningKey", provider.NextClientSigningKey, provider.NextClientSigningKeyId, errors);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Check(string key, string? value, string? keyId, List<string> errors)
    {
        // A missing value or id is PortcullisOptionsValidator's to report.
        if (string.IsNullOrWhiteSpace(value) || string.IsNullOrWhiteSpace(keyId))
        {
            return;
        }

        if (ClientSigningKey.Read(value, keyId).Error is { } error)
        {
            errors.Add($"{key} {error}.");
        }
    }
}
