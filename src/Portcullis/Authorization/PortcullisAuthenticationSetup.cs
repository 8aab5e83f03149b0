using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;

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
        AddAccessPolicies(services);
        if (services.Any(d => d.ServiceType == typeof(PortcullisAuthenticationHandler)))
        {
            return;
        }

        services.TryAddTransient<PortcullisAuthenticationHandler>();
        services.AddAuthentication(options => options.AddScheme<PortcullisAuthenticationHandler>(
            PortcullisAuthenticationDefaults.AuthenticationScheme, PortcullisAuthenticationDefaults.AuthenticationScheme));
    }

    /// <summary>
    /// The providers' membership and step-up handlers, and every <c>Portcullis:Policies:{name}</c> as an ASP.NET Core policy of
    /// the same name, so <c>[Authorize(Policy = "name")]</c> and <c>RequireAuthorization("name")</c> work like a route's <c>Policy</c>.
    /// </summary>
    private static void AddAccessPolicies(IServiceCollection services)
    {
        services.TryAddSingleton<MembershipCache>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, ProviderMembershipHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, StepUpHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<AuthorizationOptions>, NamedPolicySetup>());
    }

    private sealed class NamedPolicySetup(IOptions<PortcullisOptions> portcullis) : IConfigureOptions<AuthorizationOptions>
    {
        public void Configure(AuthorizationOptions options)
        {
            foreach (var (name, policy) in portcullis.Value.Policies)
            {
                options.AddPolicy(name, AccessPolicies.Build(policy));
            }
        }
    }
}
