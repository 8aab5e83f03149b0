using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Portcullis.Authorization;

internal static class PortcullisAuthenticationSetup
{
    /// <summary>
    /// Adds the <c>Portcullis</c> scheme and the <see cref="PortcullisAuthenticationDefaults.UserPolicy"/> policy. Safe to
    /// call twice. Not set as <c>DefaultScheme</c>: an app with other schemes keeps its own default; policies name the
    /// scheme (<c>RequirePortcullisSession()</c>).
    /// </summary>
    public static void Add(IServiceCollection services)
    {
        services.AddAuthorization(options => options.AddPolicy(PortcullisAuthenticationDefaults.UserPolicy, policy => policy.RequirePortcullisSession()));
        if (services.Any(d => d.ServiceType == typeof(PortcullisAuthenticationHandler)))
        {
            return;
        }

        services.TryAddTransient<PortcullisAuthenticationHandler>();
        services.AddAuthentication(options => options.AddScheme<PortcullisAuthenticationHandler>(
            PortcullisAuthenticationDefaults.AuthenticationScheme, PortcullisAuthenticationDefaults.AuthenticationScheme));
    }
}
