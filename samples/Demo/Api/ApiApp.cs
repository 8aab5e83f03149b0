using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Portcullis.Demo.Hosting;

namespace Portcullis.Demo.Api;

// The sample API: an ordinary resource server that trusts the provider's JWT access tokens and knows
// nothing about the gateway.
internal static class ApiApp
{
    public static async Task<WebApplication> StartAsync(Uri url, string issuer, CancellationToken ct)
    {
        var builder = LoopbackHost.CreateBuilder(url);
        builder.Services
            .AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer(options =>
            {
                options.Authority = issuer;
                // The provider speaks plain HTTP, on loopback only.
                options.RequireHttpsMetadata = false;
                options.Audience = DemoDefaults.ApiAudience;
                // Keep "sub", "name" and "scope" as the provider wrote them.
                options.MapInboundClaims = false;
                // The default five minutes would hide the two-minute lifetime of the demo's access
                // tokens and so the gateway's refresh; a little skew is still allowed for slow machines.
                options.TokenValidationParameters.ClockSkew = TimeSpan.FromSeconds(5);
            });
        builder.Services.AddAuthorization();

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapWhoAmI();
        return await app.StartOrDisposeAsync(ct);
    }
}
