namespace Portcullis.Agent;

/// <summary>
/// Open-redirect defence for <c>returnUrl</c> (SECURITY.md item 16): only a path on this origin is accepted, or a listed
/// sibling host. Browsers treat <c>//host</c>, <c>/\host</c> and paths with control characters or whitespace as other
/// hosts or rewrite them, so anything but a plain rooted path is refused rather than "cleaned".
/// </summary>
/// <remarks>
/// With <c>AllowedReturnHosts</c> (ADR 0042) an absolute <c>https://host/path</c> to one of those hosts is accepted too,
/// written plainly: the authority is the bare host, compared exactly, with no user info, port, IP literal or
/// percent-encoding, because each of those is a way browsers and URL parsers disagree about which host is meant.
/// </remarks>
internal static class ReturnUrl
{
    public const string Default = "/";

    private const string HttpsPrefix = "https://";

    /// <summary>A local path, or an <c>https</c> URL on one of <paramref name="siblingHosts"/>.</summary>
    public static bool IsAllowed(string? value, IReadOnlyCollection<string> siblingHosts) =>
        IsLocal(value) || (siblingHosts.Count > 0 && IsOnSibling(value, siblingHosts));

    public static bool IsLocal(string? value)
    {
        if (string.IsNullOrEmpty(value) || value[0] != '/' || value.Length > 2048)
        {
            return false;
        }

        if (value.Length > 1 && (value[1] == '/' || value[1] == '\\'))
        {
            return false;
        }

        return HasNothingHidden(value);
    }

    private static bool IsOnSibling(string? value, IReadOnlyCollection<string> siblingHosts)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 2048 || !value.StartsWith(HttpsPrefix, StringComparison.OrdinalIgnoreCase)
            || !HasNothingHidden(value))
        {
            return false;
        }

        var rest = value.AsSpan(HttpsPrefix.Length);
        var end = rest.IndexOfAny('/', '?', '#');
        var authority = (end < 0 ? rest : rest[..end]).ToString();
        // Host-name characters only: '@' (user info), ':' (port), '[' (IP literal), '%' and the rest are all refused here.
        if (authority.Length == 0 || !authority.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.')
            || !siblingHosts.Contains(authority, StringComparer.OrdinalIgnoreCase))
        {
            return false;
        }

        // The URL parser must agree about the host and find nothing else in the authority.
        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps
            && uri.IsDefaultPort && uri.UserInfo.Length == 0 && uri.Host.Equals(authority, StringComparison.OrdinalIgnoreCase);
    }

    private static bool HasNothingHidden(string value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c) || c == '\\')
            {
                return false;
            }
        }

        // Encoded slashes and backslashes are decoded by some browsers and servers before use: refuse them outright.
        return !value.Contains("%2f", StringComparison.OrdinalIgnoreCase)
            && !value.Contains("%5c", StringComparison.OrdinalIgnoreCase)
            && !value.Contains("%09", StringComparison.OrdinalIgnoreCase)
            && !value.Contains("%0a", StringComparison.OrdinalIgnoreCase)
            && !value.Contains("%0d", StringComparison.OrdinalIgnoreCase)
            && !value.Contains("%00", StringComparison.OrdinalIgnoreCase);
    }
}
