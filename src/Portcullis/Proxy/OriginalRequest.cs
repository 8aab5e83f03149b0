using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Portcullis.Primitives;

namespace Portcullis.Proxy;

/// <summary>
/// The request a front proxy asks forward-auth about, as the proxy describes it: nginx (<c>X-Original-URI</c>,
/// <c>X-Original-Method</c>), Traefik (<c>X-Forwarded-Uri</c>, <c>X-Forwarded-Method</c>) or Envoy's <c>ext_authz</c> HTTP
/// service (the original path appended to the endpoint's, the original method). Exactly one description is accepted: a
/// proxy passes the client's other headers through, so a second one can only be the client's, and judging it would let a
/// client have one path checked while the proxy forwards another.
/// </summary>
internal sealed record OriginalRequest(string Method, AdmissionTarget Target)
{
    private const string NginxUri = "X-Original-URI";
    private const string NginxMethod = "X-Original-Method";
    private const string TraefikUri = "X-Forwarded-Uri";
    private const string TraefikMethod = "X-Forwarded-Method";

    public string Path => Target.Path;

    /// <summary>Reads the one description of the original request, or why there is none that can be judged (400).</summary>
    public static Outcome<OriginalRequest> Read(HttpContext context, PathString endpoint)
    {
        var headers = context.Request.Headers;
        var nginx = headers.ContainsKey(NginxUri) || headers.ContainsKey(NginxMethod);
        var traefik = headers.ContainsKey(TraefikUri) || headers.ContainsKey(TraefikMethod);
        var envoy = context.Request.Path.StartsWithSegments(endpoint, out var rest) && rest.HasValue && rest.Value != "/";
        if ((nginx ? 1 : 0) + (traefik ? 1 : 0) + (envoy ? 1 : 0) != 1)
        {
            return PortcullisError.InvalidRequest(nginx || traefik || envoy
                ? "The original request is described more than one way (X-Original-*, X-Forwarded-Uri/-Method, a path after the endpoint's); the front proxy must send exactly one."
                : "The original request is not described: send X-Original-URI (nginx), X-Forwarded-Uri (Traefik) or the path after the endpoint's (Envoy).");
        }

        var (rawTarget, method) = envoy
            ? (EnvoyTarget(context, endpoint), context.Request.Method)
            : (Single(headers, nginx ? NginxUri : TraefikUri), Single(headers, nginx ? NginxMethod : TraefikMethod) ?? context.Request.Method);
        if (rawTarget is null || method is null || !IsMethod(method))
        {
            return PortcullisError.InvalidRequest("The original request's URI or method is missing, repeated or malformed.");
        }

        return Parse(rawTarget, method, string.Equals(headers.Upgrade.ToString(), "websocket", StringComparison.OrdinalIgnoreCase));
    }

    private static Outcome<OriginalRequest> Parse(string rawTarget, string method, bool upgrade)
    {
        if (!rawTarget.StartsWith('/'))
        {
            return PortcullisError.InvalidRequest("The original request's URI must be a path starting with '/'.");
        }

        var rawPath = rawTarget.Split('?', 2)[0];
        string path;
        try
        {
            path = Uri.UnescapeDataString(rawPath);
        }
        catch (UriFormatException)
        {
            return PortcullisError.InvalidRequest("The original request's path is not valid percent-encoding.");
        }

        // Kestrel removes dot segments before routing and refuses control characters; a description from a header has had
        // neither, and a proxy that normalises differently would forward another path than the one judged: refuse them.
        if (path.Any(char.IsControl) || path.Split('/').Any(segment => segment is "." or ".."))
        {
            return PortcullisError.InvalidRequest("The original request's path contains a dot segment or a control character.");
        }

        return new OriginalRequest(method.ToUpperInvariant(), new AdmissionTarget(rawTarget, path, upgrade));
    }

    /// <summary>Envoy's check request: the endpoint's path, then the original path and query as the client sent them.</summary>
    private static string? EnvoyTarget(HttpContext context, PathString endpoint)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty;
        var prefix = endpoint.Value!;
        return raw.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && raw.Length > prefix.Length && raw[prefix.Length] == '/'
            ? raw[prefix.Length..]
            : null;
    }

    private static string? Single(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out var values) ? values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null : null;

    private static bool IsMethod(string method) => method.Length is > 0 and <= 16 && method.All(char.IsAsciiLetter);
}
