namespace Portcullis.Agent;

/// <summary>
/// Open-redirect defence for <c>returnUrl</c> (SECURITY.md item 16): only a path on this origin is accepted.
/// Browsers treat <c>//host</c>, <c>/\host</c> and paths with control characters or whitespace as other hosts or
/// rewrite them, so anything but a plain rooted path is refused rather than "cleaned".
/// </summary>
internal static class ReturnUrl
{
    public const string Default = "/";

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
