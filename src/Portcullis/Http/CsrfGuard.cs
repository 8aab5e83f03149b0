using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Primitives;

namespace Portcullis.Http;

/// <summary>
/// The anti-forgery check every API and <c>/bff</c> JSON request passes before any work is done (SECURITY.md items 6–7):
/// a custom header a cross-site form or image cannot send, plus <c>Origin</c> / <c>Sec-Fetch-Site</c> showing this site.
/// A custom header also forces a CORS preflight for cross-origin scripts, which only allowed origins pass.
/// </summary>
internal sealed class CsrfGuard
{
    private readonly string _headerName;
    private readonly HashSet<string> _allowedOrigins;
    private readonly ILogger<CsrfGuard> _logger;

    public CsrfGuard(IOptions<PortcullisOptions> options, ILogger<CsrfGuard> logger)
    {
        _headerName = options.Value.Csrf.HeaderName;
        _allowedOrigins = new HashSet<string>(options.Value.Csrf.AllowedOrigins.Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase)
        {
            options.Value.PublicOrigin!,
        };
        _logger = logger;
    }

    public PortcullisError? Check(HttpRequest request)
    {
        var headers = request.Headers;
        if (!headers.TryGetValue(_headerName, out var value) || value.Count != 1 || value[0] != "1")
        {
            return Refuse("anti-forgery header missing");
        }

        var origin = headers.Origin;
        if (origin.Count > 0)
        {
            return origin.Count == 1 && _allowedOrigins.Contains(origin[0]!) ? null : Refuse("foreign origin");
        }

        // Without an Origin header, Fetch Metadata still tells a cross-site request apart.
        return headers.TryGetValue("Sec-Fetch-Site", out var site) && site == "cross-site" ? Refuse("cross-site request") : null;
    }

    /// <summary>
    /// For WebSocket handshakes, which browsers send without custom headers but always with <c>Origin</c> (RFC 6455 §4.1):
    /// the origin must be present and allowed; this replaces the header check at the upgrade.
    /// </summary>
    public PortcullisError? CheckUpgrade(HttpRequest request)
    {
        var origin = request.Headers.Origin;
        return origin.Count == 1 && _allowedOrigins.Contains(origin[0]!) ? null : Refuse("WebSocket upgrade without an allowed origin");
    }

    private PortcullisError Refuse(string reason)
    {
        Log.CsrfRefused(_logger, reason);
        return PortcullisError.CsrfCheckFailed;
    }
}
