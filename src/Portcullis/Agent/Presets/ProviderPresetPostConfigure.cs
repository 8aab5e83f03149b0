using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Agent.Presets;

/// <summary>
/// Fills in each provider's defaults from its preset (scopes, client authentication, display name, authority,
/// authorization parameters): what configuration left out, never what it says. A provider of an unknown kind gets no
/// defaults; <see cref="ProviderPresetOptionsValidator"/> names it.
/// </summary>
internal sealed class ProviderPresetPostConfigure : IPostConfigureOptions<PortcullisOptions>
{
    public void PostConfigure(string? name, PortcullisOptions options)
    {
        foreach (var (providerName, provider) in options.Providers)
        {
            if (ProviderPresets.Find(provider.Kind) is { } preset)
            {
                ApplyPreset(provider, preset);
            }

            provider.DisplayName ??= providerName;
        }
    }

    private static void ApplyPreset(ProviderOptions provider, ProviderPreset preset)
    {
        if (provider.Scopes.Count == 0)
        {
            provider.Scopes.AddRange(preset.DefaultScopes);
        }

        provider.ClientAuthentication ??= preset.DefaultClientAuthentication;
        provider.DisplayName ??= preset.DefaultDisplayName;
        provider.Authority ??= preset.DefaultAuthority;
        foreach (var (key, value) in preset.DefaultAuthorizationParameters)
        {
            provider.AuthorizationParameters.TryAdd(key, value);
        }
    }
}
