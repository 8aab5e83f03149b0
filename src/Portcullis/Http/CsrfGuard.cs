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
    private readonly string _publicOrigin;
    private readonly ReloadableOptions _options;
    private readonly ILogger<CsrfGuard> _logger;
    private AllowedOrigins _allowed;

    public CsrfGuard(IOptions<PortcullisOptions> options, ReloadableOptions reloadable, ILogger<CsrfGuard> logger)
    {
        _headerName = options.Value.Csrf.HeaderName;
        _publicOrigin = options.Value.PublicOrigin!;
        _options = reloadable;
        _logger = logger;
        _allowed = Build(reloadable.Current);
    }

    /// <summary>The allowed origins of the configuration in force; rebuilt once after a reload changed them.</summary>
    private HashSet<string> AllowedOriginSet
    {
        get
        {
            var current = _options.Current;
            var allowed = _allowed;
            if (!ReferenceEquals(allowed.Source, current))
            {
                _allowed = allowed = Build(current);
            }

            return allowed.Origins;
        }
    }

    private AllowedOrigins Build(PortcullisOptions options) =>
        new(options, new HashSet<string>(options.Csrf.AllowedOrigins.Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase)
        {
            _publicOrigin,
        });

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
            return origin.Count == 1 && AllowedOriginSet.Contains(origin[0]!) ? null : Refuse("foreign origin");
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
        return origin.Count == 1 && AllowedOriginSet.Contains(origin[0]!) ? null : Refuse("WebSocket upgrade without an allowed origin");
    }

    private PortcullisError Refuse(string reason)
    {
        Log.CsrfRefused(_logger, reason);
        return PortcullisError.CsrfCheckFailed;
    }

    /// <summary>An origin set together with the options it was built from, swapped as one reference.</summary>
    private sealed record AllowedOrigins(PortcullisOptions Source, HashSet<string> Origins);
}
