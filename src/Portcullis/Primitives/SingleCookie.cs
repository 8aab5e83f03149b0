using System.Buffers;
using Microsoft.Extensions.Primitives;

namespace Portcullis.Primitives;

/// <summary>
/// Reads one cookie straight from the raw <c>Cookie</c> header when the answer is unambiguous, so the request's cookie
/// dictionary (every cookie of the site parsed, unescaped and copied, often kilobytes of analytics cookies) is not built
/// on each API call for the sake of one value (issue 18).
/// </summary>
/// <remarks>
/// It answers only where ASP.NET Core's parser (<c>Request.Cookies</c>) must give the same answer, and otherwise says
/// "ask the parser". It answers when the name occurs in no header value in any case (so the parser cannot find it
/// either), or exactly once in all of them: in its exact case, at the start of a header value or after <c>"; "</c>,
/// followed by <c>=</c>, a value of base64url characters and dots, and then <c>;</c> or the end. Such an occurrence is
/// the start of a cookie for the parser too, and nothing else in the header can be read as that name. Everything
/// else goes to the parser: a second occurrence in any case (two cookies of one name, which is how cookie tossing
/// looks), quotes, <c>%</c> escapes, other separators or whitespace, an empty value, and the application switch that
/// lets the parser unescape names.
/// </remarks>
internal static class SingleCookie
{
    private const string NameEncodingSwitch = "Microsoft.AspNetCore.Http.EnableCookieNameEncoding";

    /// <summary>What a session cookie's value is made of: base64url, and the dot of a split-key cookie.</summary>
    private static readonly SearchValues<char> PlainValueChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");

    private static readonly bool NamesMayBeEncoded = AppContext.TryGetSwitch(NameEncodingSwitch, out var enabled) && enabled;

    /// <summary>
    /// True with the cookie's value (null when it is absent) when the raw header answers unambiguously; false when the
    /// header has to go through the full parser.
    /// </summary>
    public static bool TryRead(StringValues cookieHeader, string name, out string? value)
    {
        value = null;
        if (NamesMayBeEncoded)
        {
            return false;
        }

        var found = false;
        foreach (var header in cookieHeader)
        {
            if (string.IsNullOrEmpty(header))
            {
                continue;
            }

            var at = header.IndexOf(name, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                continue;
            }

            if (found || header.IndexOf(name, at + 1, StringComparison.OrdinalIgnoreCase) >= 0 || !TryReadAt(header, at, name, out value))
            {
                value = null;
                return false;
            }

            found = true;
        }

        return true;
    }

    /// <summary>The plain value of the cookie whose name starts at <paramref name="at"/>, if it is one.</summary>
    private static bool TryReadAt(string header, int at, string name, out string? value)
    {
        value = null;
        var startsACookie = at == 0 || (at >= 2 && header[at - 1] == ' ' && header[at - 2] == ';');
        var valueStart = at + name.Length + 1;
        if (!startsACookie
            || valueStart > header.Length
            || header[valueStart - 1] != '='
            || !header.AsSpan(at, name.Length).SequenceEqual(name))
        {
            return false;
        }

        var rest = header.AsSpan(valueStart);
        var length = rest.IndexOfAnyExcept(PlainValueChars);
        if (length < 0)
        {
            length = rest.Length;
        }
        else if (rest[length] != ';')
        {
            return false;
        }

        if (length == 0)
        {
            return false;
        }

        value = header.Substring(valueStart, length);
        return true;
    }
}
