using System.Buffers;

namespace Portcullis.Proxy;

/// <summary>
/// Routing already matches the decoded path with dot segments removed (SECURITY.md item 31). What it cannot see is what an
/// upstream might make of the same bytes: encoded separators and dots survive Kestrel's normalisation and some servers decode
/// them into real ones, empty segments (<c>//</c>) are collapsed or read as an authority by others, and <c>..;</c> is a dot
/// segment to servlet containers. Such requests are
/// refused rather than forwarded, so the upstream only ever receives a path that means the same to it as to the gateway.
/// </summary>
/// <remarks>Every proxied request is checked, so the checks read spans and allocate nothing (issue 18).</remarks>
internal static class RequestPathSafety
{
    private static readonly SearchValues<string> EncodedSeparators = SearchValues.Create(["%2f", "%5c", "%2e"], StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Checks a request target as sent (<paramref name="rawTarget"/>) with its decoded path: the proxied request's own, or
    /// the original request a front proxy asks about (forward-auth).
    /// </summary>
    public static bool IsAmbiguous(string rawTarget, string decoded)
    {
        var path = RawPath(rawTarget);
        // A fragment never belongs in a request target (RFC 9112 §3.2); "#/../x" would otherwise be resolved as a path.
        return rawTarget.Contains('#')
            || HasEncodedSeparator(path)
            // Still encoded after one decoding: a double-decoding upstream would see the separator.
            || HasEncodedSeparator(decoded)
            || path.Contains("//", StringComparison.Ordinal)
            || decoded.Contains("//", StringComparison.Ordinal)
            // Servlet containers drop ";parameters" from a segment before resolving it: "..;" is ".." to them.
            || (decoded.Contains(';') && HasServletDotSegment(decoded));
    }

    private static bool HasEncodedSeparator(ReadOnlySpan<char> path) =>
        path.Contains('\\') || (path.Contains('%') && path.ContainsAny(EncodedSeparators));

    private static bool HasServletDotSegment(ReadOnlySpan<char> decoded)
    {
        foreach (var range in decoded.Split('/'))
        {
            var segment = decoded[range];
            if (segment.StartsWith(".;", StringComparison.Ordinal) || segment.StartsWith("..;", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The path part of the request target, also for the absolute form (<c>GET http://host/path</c>, RFC 9112 §3.2.2).</summary>
    private static ReadOnlySpan<char> RawPath(string rawTarget)
    {
        var target = rawTarget.AsSpan();
        if (target.IndexOf('?') is >= 0 and var query)
        {
            target = target[..query];
        }

        if (target.StartsWith('/'))
        {
            return target;
        }

        var authority = target.IndexOf("://", StringComparison.Ordinal);
        var slash = authority < 0 ? -1 : target[(authority + 3)..].IndexOf('/');
        return slash < 0 ? "/" : target[(authority + 3 + slash)..];
    }
}
