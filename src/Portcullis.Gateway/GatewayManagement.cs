using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;

namespace Portcullis.Gateway;

/// <summary>
/// <c>Portcullis:Management:Urls</c>: a second listener for operators. The management port serves the health endpoints
/// and <c>GET /metrics</c> and answers 404 to everything else; the main port stops serving <c>/metrics</c>, so a scrape
/// endpoint is never on the address users reach. Which port a request came in on is read from the connection, never
/// from the <c>Host</c> header, which the client chooses.
/// </summary>
internal sealed class GatewayManagement
{
    private const string Key = "Portcullis:Management:Urls";

    // What an operator's probe or scraper asks for; the app's own endpoints stay off the management port.
    private static readonly HashSet<string> HealthPatterns = new(StringComparer.OrdinalIgnoreCase) { "/healthz", "/healthz/live", "/healthz/ready" };

    private readonly HashSet<int> _ports;

    private GatewayManagement(HashSet<int> ports) => _ports = ports;

    /// <summary>Endpoint metadata: served on the management port when there is one, and only there.</summary>
    public sealed class OnlyOnManagementPort;

    /// <summary>Listens on the management addresses besides the main ones; null when none are configured.</summary>
    public static GatewayManagement? Listen(WebApplication app, IConfiguration section)
    {
        if (section["Management:Urls"] is not { Length: > 0 } value)
        {
            return null;
        }

        var main = GatewayAddresses.MainOf(app.Configuration);
        var management = value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var ports = new HashSet<int>();
        foreach (var address in management)
        {
            ports.Add(PortOf(address));
        }

        var mainPorts = main.Select(a => GatewayAddresses.TryParse(a, out var uri) ? uri.Port : -1);
        if (mainPorts.FirstOrDefault(ports.Contains, -1) is var shared and not -1)
        {
            throw new GatewayConfigurationException($"{Key}: port {shared} is also the main port; the management listener needs a port of its own.");
        }

        GatewayAddresses.Listen(app, management);

        return new GatewayManagement(ports);
    }

    /// <summary>After routing: each endpoint answers on the port it belongs to; anything else is 404.</summary>
    public void Use(WebApplication app) => app.Use((context, next) =>
    {
        var onManagementPort = _ports.Contains(context.Connection.LocalPort);
        var endpoint = context.GetEndpoint();
        var managementOnly = endpoint?.Metadata.GetMetadata<OnlyOnManagementPort>() is not null;
        var health = endpoint is RouteEndpoint route && HealthPatterns.Contains(route.RoutePattern.RawText ?? string.Empty);
        var allowed = onManagementPort ? managementOnly || health : !managementOnly;
        if (allowed)
        {
            return next(context);
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    });

    private static int PortOf(string address)
    {
        if (!GatewayAddresses.TryParse(address, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/"
            || !address.TrimEnd('/').EndsWith($":{uri.Port}", StringComparison.Ordinal) || uri.Port == 0)
        {
            throw new GatewayConfigurationException(
                $"{Key}: '{address}' must be an http or https address with an explicit port and no path, such as http://127.0.0.1:9090.");
        }

        return uri.Port;
    }
}
