using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;

namespace Portcullis.Authorization;

internal static class PortcullisAuthenticationSetup
{
    /// <summary>
    /// Adds the <c>Portcullis</c> scheme (the default scheme unless the app chose another) and the
    /// <see cref="PortcullisAuthenticationDefaults.UserPolicy"/> policy. Safe to call twice.
    /// </summary>
    public static void Add(IServiceCollection services)
    {
        services.AddAuthorization(options => options.AddPolicy(PortcullisAuthenticationDefaults.UserPolicy, policy => policy.RequirePortcullisSession()));
        if (services.Any(d => d.ServiceType == typeof(PortcullisAuthenticationHandler)))
        {
            return;
        }

        services.AddAuthentication(options => options.DefaultScheme ??= PortcullisAuthenticationDefaults.AuthenticationScheme)
            .AddScheme<PortcullisAuthenticationOptions, PortcullisAuthenticationHandler>(PortcullisAuthenticationDefaults.AuthenticationScheme, null);
    }
}
