using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;

namespace Portcullis.Gateway;

/// <summary>The addresses Kestrel will listen on, read as it reads them, for the listeners the gateway adds beside them.</summary>
internal static class GatewayAddresses
{
    /// <summary>Kestrel's wildcard hosts (<c>*</c>, <c>+</c>) are not URI hosts; the port is what matters here.</summary>
    public static bool TryParse(string address, out Uri uri) =>
        Uri.TryCreate(address.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal), UriKind.Absolute, out uri!);

    /// <summary>The main addresses as Kestrel would choose them: <c>urls</c>, else <c>http_ports</c>/<c>https_ports</c>, else its default.</summary>
    public static List<string> MainOf(IConfiguration configuration)
    {
        if (configuration["urls"] is { Length: > 0 } urls)
        {
            return [.. urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        }

        var addresses = new List<string>();
        addresses.AddRange(Ports(configuration["http_ports"]).Select(port => $"http://*:{port}"));
        addresses.AddRange(Ports(configuration["https_ports"]).Select(port => $"https://*:{port}"));
        return addresses.Count > 0 ? addresses : ["http://localhost:5000"];
    }

    /// <summary>What Kestrel will bind so far: the main addresses, or what an earlier listener set on <c>app.Urls</c>.</summary>
    public static List<string> BoundOf(WebApplication app) => app.Urls.Count > 0 ? [.. app.Urls] : MainOf(app.Configuration);

    /// <summary>
    /// Adds <paramref name="extra"/> to what Kestrel binds. Setting <c>app.Urls</c> replaces what Kestrel would take from
    /// urls/http_ports, so the addresses bound so far are set again with them.
    /// </summary>
    public static void Listen(WebApplication app, IEnumerable<string> extra)
    {
        var all = BoundOf(app).Concat(extra).Distinct(StringComparer.Ordinal).ToList();
        app.Urls.Clear();
        foreach (var address in all)
        {
            app.Urls.Add(address);
        }
    }

    private static IEnumerable<string> Ports(string? value) =>
        value?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

    /// <summary>
    /// The same address on another port: <c>http://+:8080</c> → <c>http://+:4181</c> (scheme and host kept, wildcards and
    /// bracketed IPv6 hosts included).
    /// </summary>
    public static string WithPort(string address, int port)
    {
        var hostStart = address.IndexOf("://", StringComparison.Ordinal) + 3;
        var authority = address[hostStart..].TrimEnd('/');
        var portSeparator = authority.LastIndexOf(':');
        var host = portSeparator > authority.LastIndexOf(']') ? authority[..portSeparator] : authority;
        return $"{address[..hostStart]}{host}:{port}";
    }
}
