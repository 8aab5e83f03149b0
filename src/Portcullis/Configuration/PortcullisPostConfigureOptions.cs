using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Portcullis.Configuration;

/// <summary>Derived defaults that depend on other values (ASP.NET's post-configure layer). The defaults of each provider
/// kind are applied by the agent's presets (<c>Portcullis.Agent.Presets.ProviderPresetPostConfigure</c>).</summary>
internal sealed class PortcullisPostConfigureOptions(IHostEnvironment environment) : IPostConfigureOptions<PortcullisOptions>
{
    public void PostConfigure(string? name, PortcullisOptions options)
    {
        options.PublicOrigin = options.PublicOrigin?.TrimEnd('/');
        if (!string.IsNullOrEmpty(options.Frontend.StaticRoot))
        {
            options.Frontend.StaticRoot = Path.GetFullPath(options.Frontend.StaticRoot, environment.ContentRootPath);
        }

        // A __Host- cookie cannot carry a Domain: a shared cookie takes the __Secure- prefix unless a name was chosen.
        if (!string.IsNullOrEmpty(options.Session.CookieDomain) && options.Session.CookieName == SessionCookieDefaults.HostName)
        {
            options.Session.CookieName = SessionCookieDefaults.DomainName;
        }

        foreach (var provider in options.Providers.Values)
        {
            // Before the presets' defaults (registered after this), so a fapi2 provider's left-out ClientAuthentication
            // becomes private_key_jwt, not the preset's secret.
            Fapi2Profile.ApplyDefaults(provider);
            if (provider.PostLogoutRedirectUri is null && options.PublicOrigin is not null)
            {
                provider.PostLogoutRedirectUri = options.PublicOrigin + "/";
            }
        }
    }
}
