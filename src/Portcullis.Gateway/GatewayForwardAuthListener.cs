using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;

namespace Portcullis.Gateway;

/// <summary>
/// <c>Portcullis:ForwardAuth:Port</c>: the listener the front proxy's auth call arrives on, added beside the main
/// addresses on the same hosts and scheme. The library answers forward-auth on that port only (by the connection's
/// port), so a browser whose <c>/bff/</c> traffic the same proxy forwards cannot ask for its own token.
/// </summary>
internal static class GatewayForwardAuthListener
{
    private const string Key = "Portcullis:ForwardAuth:Port";

    /// <summary>Adds the listener when forward-auth is on; start-up validation reports a missing or invalid port.</summary>
    public static void Listen(WebApplication app, IConfiguration section)
    {
        if (!section.GetValue<bool>("ForwardAuth:Enabled") || !int.TryParse(section["ForwardAuth:Port"], out var port) || port is <= 0 or > 65535)
        {
            return;
        }

        if (GatewayAddresses.BoundOf(app).Any(address => GatewayAddresses.TryParse(address, out var uri) && uri.Port == port))
        {
            throw new GatewayConfigurationException($"{Key}: port {port} is already a main or management port; forward-auth needs a port of its own.");
        }

        GatewayAddresses.Listen(app, GatewayAddresses.MainOf(app.Configuration).Select(address => GatewayAddresses.WithPort(address, port)));
    }
}
