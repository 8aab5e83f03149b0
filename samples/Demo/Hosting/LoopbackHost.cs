using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Portcullis.Demo.Hosting;

internal static class LoopbackHost
{
    // The provider and the API are helpers of the demo, not the product: they read no appsettings or
    // command line of their own, bind one loopback address, and log only warnings so the console
    // shows what the gateway does.
    public static WebApplicationBuilder CreateBuilder(Uri url)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
        });

        // CreateBuilder would read appsettings.json from the content root, which is the build output
        // and holds the gateway's appsettings.json; none of it is meant for these hosts.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls(url.GetLeftPart(UriPartial.Authority));
        builder.Services.AddSingleton<IHostLifetime, EmbeddedHostLifetime>();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        return builder;
    }
}
