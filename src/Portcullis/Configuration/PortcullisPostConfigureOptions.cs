using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Portcullis.Configuration;

/// <summary>Derived defaults that depend on other values (ASP.NET's post-configure layer).</summary>
internal sealed class PortcullisPostConfigureOptions(IHostEnvironment environment) : IPostConfigureOptions<PortcullisOptions>
{
    private static readonly string[] DefaultScopes = ["openid", "profile", "email", "offline_access"];

    public void PostConfigure(string? name, PortcullisOptions options)
    {
        options.PublicOrigin = options.PublicOrigin?.TrimEnd('/');
        if (!string.IsNullOrEmpty(options.Frontend.StaticRoot))
        {
            options.Frontend.StaticRoot = Path.GetFullPath(options.Frontend.StaticRoot, environment.ContentRootPath);
        }

        foreach (var (providerName, provider) in options.Providers)
        {
            provider.DisplayName ??= providerName;
            if (provider.Scopes.Count == 0)
            {
                provider.Scopes.AddRange(DefaultScopes);
            }

            if (provider.PostLogoutRedirectUri is null && options.PublicOrigin is not null)
            {
                provider.PostLogoutRedirectUri = options.PublicOrigin + "/";
            }
        }
    }
}
