using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Portcullis.Configuration;

/// <summary>Derived defaults that depend on other values (ASP.NET's post-configure layer).</summary>
internal sealed class PortcullisPostConfigureOptions(IHostEnvironment environment) : IPostConfigureOptions<PortcullisOptions>
{
    public void PostConfigure(string? name, PortcullisOptions options)
    {
        options.PublicOrigin = options.PublicOrigin?.TrimEnd('/');
        if (!string.IsNullOrEmpty(options.Frontend.StaticRoot))
        {
            options.Frontend.StaticRoot = Path.GetFullPath(options.Frontend.StaticRoot, environment.ContentRootPath);
        }

        foreach (var (providerName, provider) in options.Providers)
        {
            // An unknown kind gets no defaults; the validator names it.
            if (Agent.Presets.ProviderPresets.Find(provider.Kind) is { } preset)
            {
                ApplyPreset(provider, preset);
            }

            provider.DisplayName ??= providerName;

            if (provider.PostLogoutRedirectUri is null && options.PublicOrigin is not null)
            {
                provider.PostLogoutRedirectUri = options.PublicOrigin + "/";
            }
        }
    }

    /// <summary>A preset's defaults fill what configuration left out; what configuration says always wins.</summary>
    private static void ApplyPreset(ProviderOptions provider, Agent.Presets.ProviderPreset preset)
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
