using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Proxy;

/// <summary>
/// CORS for the app origins listed in <c>Csrf:AllowedOrigins</c> (SECURITY.md item 8), on API routes and <c>/bff</c> JSON
/// endpoints, by ASP.NET Core's CORS middleware: a preflight is answered by the middleware before any endpoint runs, so it
/// never reaches an upstream; an allowed origin gets exactly that origin with <c>Allow-Credentials: true</c> (never <c>*</c>);
/// any other origin gets no <c>Access-Control-Allow-Origin</c>. The headers are added when the response starts, so the
/// gateway's own 401/403 answers carry them too and the app can read them.
/// </summary>
internal static class PortcullisCors
{
    public const string PolicyName = "Portcullis";

    public static void Add(IServiceCollection services)
    {
        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<PortcullisOptions>>((cors, portcullis) =>
            cors.AddPolicy(PolicyName, policy => policy
                .WithOrigins([.. portcullis.Value.Csrf.AllowedOrigins.Select(o => o.TrimEnd('/'))])
                .AllowCredentials()
                .AllowAnyMethod()
                .AllowAnyHeader()
                .WithExposedHeaders("Retry-After")
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10))));
    }
}
