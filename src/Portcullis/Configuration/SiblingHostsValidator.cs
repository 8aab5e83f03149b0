namespace Portcullis.Configuration;

/// <summary>
/// Subdomain deployments (issue 20 item 5, ADR 0042): <c>Session:CookieDomain</c> must be the public origin's host or a
/// parent of it, and <c>AllowedReturnHosts</c> plain host names, each problem named by its key.
/// </summary>
internal static class SiblingHostsValidator
{
    private const string Root = PortcullisOptions.SectionName;

    public static void Validate(PortcullisOptions options, List<string> errors)
    {
        if (options.Session.CookieDomain is { } domain)
        {
            var key = $"{Root}:Session:CookieDomain";
            var publicHost = Uri.TryCreate(options.PublicOrigin, UriKind.Absolute, out var origin) ? origin.Host : null;
            if (!IsHostName(domain) || !domain.Contains('.'))
            {
                errors.Add($"{key} must be a domain name such as 'example.com', without scheme, port, path, leading dot or wildcard (got '{domain}').");
            }
            else if (publicHost is not null && !publicHost.Equals(domain, StringComparison.OrdinalIgnoreCase)
                && !publicHost.EndsWith("." + domain, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{key} '{domain}' must be {Root}:PublicOrigin's host '{publicHost}' or a parent domain of it; browsers drop a cookie for any other domain.");
            }
        }

        for (var i = 0; i < options.AllowedReturnHosts.Count; i++)
        {
            var host = options.AllowedReturnHosts[i];
            if (!IsHostName(host))
            {
                errors.Add($"{Root}:AllowedReturnHosts:{i} must be a host name such as 'app.example.com', without scheme, port, path, user info or wildcard (got '{host}').");
            }
        }
    }

    /// <summary>Letters, digits, '-' and inner dots (RFC 1123 labels); no IP literal, port, wildcard or trailing dot.</summary>
    public static bool IsHostName(string? value) =>
        !string.IsNullOrEmpty(value) && value.Length <= 253
        && value.Split('.').All(label => label.Length is > 0 and <= 63 && !label.StartsWith('-') && !label.EndsWith('-')
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        && Uri.CheckHostName(value) == UriHostNameType.Dns;
}
