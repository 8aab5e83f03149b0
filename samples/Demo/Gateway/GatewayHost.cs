using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Portcullis.Demo.Hosting;
using Portcullis.Gateway;

namespace Portcullis.Demo.Gateway;

// Starts the real gateway, built exactly as its own host builds it, with the demo's settings laid over.
internal static class GatewayHost
{
    public static async Task<WebApplication> StartAsync(GatewaySettings settings, Action<WebApplicationBuilder>? configure, CancellationToken ct)
    {
        var app = GatewayApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings.ToConfiguration());
            // "localhost" (not 127.0.0.1) because it is the origin the browser sees, and the session
            // cookie's origin; Kestrel then listens on both loopback addresses.
            builder.WebHost.UseUrls(settings.PublicOrigin);
            builder.Services.AddSingleton<IHostLifetime, EmbeddedHostLifetime>();
            configure?.Invoke(builder);
        });

        return await app.StartOrDisposeAsync(ct);
    }
}
