using System.Diagnostics;
using System.Net;
using Portcullis.Tests.Infrastructure;
using Yarp.ReverseProxy.Forwarder;

namespace Portcullis.Bench.Servers;

/// <summary>
/// The yardstick: YARP's forwarder (the version Portcullis ships with) in front of the same upstream, with no
/// authentication. Host, forwarding client and logging configuration match the gateway's, so the difference between the
/// two is what Portcullis adds: the anti-forgery check, the session, the token vault and the header rewrite.
/// </summary>
internal static class BareYarpServer
{
    public static async Task RunAsync(int port, string upstream)
    {
        var builder = WebApplication.CreateBuilder();
        // The gateway's shipped appsettings.json (log levels, allowed hosts), so both proxies log alike.
        builder.Configuration.AddJsonFile(Path.Combine(RepositoryPaths.Root, "src", "Portcullis.Gateway", "appsettings.json"), optional: false);
        builder.Services.AddHttpForwarder();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, port);
        });
        var app = builder.Build();
        app.MapGet("/healthz", () => "ok");

        // The same forwarding client settings as Portcullis's ApiProxy.
        var client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
            ConnectTimeout = TimeSpan.FromSeconds(15),
        });
        app.MapForwarder("/api/{**rest}", upstream, new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromSeconds(100) }, HttpTransformer.Default, client);
        await app.RunAsync();
    }
}
