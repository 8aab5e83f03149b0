using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Proxy;

/// <summary>
/// <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c> believed only from the configured <c>TrustedProxies</c>, by ASP.NET
/// Core's forwarded-headers middleware: with it, <c>HttpContext.Connection.RemoteIpAddress</c> is the real client address
/// (rate limits and session checks use it); without trusted proxies the headers are ignored. Either way they are never
/// forwarded to an upstream (the transformer strips them in every spelling).
/// </summary>
internal static class TrustedProxies
{
    public static void Use(IApplicationBuilder app)
    {
        var portcullis = app.ApplicationServices.GetRequiredService<IOptions<PortcullisOptions>>().Value;
        var configured = portcullis.TrustedProxies;
        if (configured.Count == 0)
        {
            return;
        }

        if (portcullis.ForwardAuth.Enabled)
        {
            // Only forward-auth asks who the peer is, so only its requests pay for keeping it.
            var forwardAuthPath = new PathString(portcullis.BasePath + portcullis.ForwardAuth.Path);
            app.Use((context, next) =>
            {
                if (context.Request.Path.StartsWithSegments(forwardAuthPath))
                {
                    context.Features.Set(new ConnectionPeer(context.Connection.RemoteIpAddress));
                }

                return next(context);
            });
        }

        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            // Walk the chain from the right while each hop is a trusted proxy; stop at the first address that is not.
            ForwardLimit = null,
        };

        // The middleware trusts loopback by default; only what is configured counts.
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var entry in configured)
        {
            if (TrustedProxyList.TryParse(entry, out var network))
            {
                options.KnownIPNetworks.Add(network);
            }
        }

        app.UseForwardedHeaders(options);
    }
}
