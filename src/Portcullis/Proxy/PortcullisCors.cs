using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Proxy;

/// <summary>
/// CORS for the app origins listed in <c>Csrf:AllowedOrigins</c> (SECURITY.md item 8), on API routes and <c>/bff</c> JSON
/// endpoints, by ASP.NET Core's CORS middleware: a preflight is answered by the middleware before any endpoint runs, so it
/// never reaches an upstream; an allowed origin gets exactly that origin with <c>Allow-Credentials: true</c> (never <c>*</c>);
/// any other origin gets no <c>Access-Control-Allow-Origin</c>. The headers are added when the response starts, so the
/// gateway's own 401/403 answers carry them too and the app can read them. The origins follow a configuration reload.
/// </summary>
internal static class PortcullisCors
{
    public const string PolicyName = "Portcullis";

    public static void Add(IServiceCollection services)
    {
        services.AddCors();
        // The app's own named policies still come from CorsOptions; only ours is built from the options in force.
        services.Replace(ServiceDescriptor.Singleton<ICorsPolicyProvider>(provider => new PolicyProvider(
            new DefaultCorsPolicyProvider(provider.GetRequiredService<IOptions<CorsOptions>>()),
            provider.GetRequiredService<ReloadableOptions>())));
    }

    private static CorsPolicy Build(PortcullisOptions options) =>
        new CorsPolicyBuilder()
            .WithOrigins([.. options.Csrf.AllowedOrigins.Select(o => o.TrimEnd('/'))])
            .AllowCredentials()
            .AllowAnyMethod()
            .AllowAnyHeader()
            .WithExposedHeaders("Retry-After")
            .SetPreflightMaxAge(TimeSpan.FromMinutes(10))
            .Build();

    private sealed class PolicyProvider(DefaultCorsPolicyProvider others, ReloadableOptions options) : ICorsPolicyProvider
    {
        // One reference, so a request never sees a policy paired with the wrong options.
        private Built? _built;

        public Task<CorsPolicy?> GetPolicyAsync(HttpContext context, string? policyName)
        {
            if (policyName != PolicyName)
            {
                return others.GetPolicyAsync(context, policyName);
            }

            var current = options.Current;
            var built = _built;
            if (built is null || !ReferenceEquals(built.Source, current))
            {
                _built = built = new Built(current, Build(current));
            }

            return Task.FromResult<CorsPolicy?>(built.Policy);
        }

        private sealed record Built(PortcullisOptions Source, CorsPolicy Policy);
    }
}
