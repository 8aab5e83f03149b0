using System.Buffers;
using Microsoft.Extensions.Primitives;

namespace Portcullis.Primitives;

/// <summary>
/// Reads one cookie straight from the raw <c>Cookie</c> header when the answer is unambiguous, so the request's cookie
/// dictionary (every cookie of the site parsed, unescaped and copied, often kilobytes of analytics cookies) is not built
/// on each API call for the sake of one value (issue 18, ADR 0047).
/// </summary>
/// <remarks>
/// It answers only where ASP.NET Core's parser (<c>Request.Cookies</c>) must give the same answer, and otherwise says
/// "ask the parser". The parser can read the name only where it is followed by <c>=</c> (a name is a whole token), so
/// an occurrence followed by another token character (<c>__Host-portcullis-login</c>) is another cookie's name, and
/// the rest are candidates. It answers when no header value has a candidate in any case (the parser cannot find the
/// name either), or when all of them together have exactly one: in its exact case, at the start of a header value or
/// after <c>"; "</c>, followed by <c>=</c>, a value of base64url characters and dots, and then <c>;</c> or the end.
/// Such an occurrence is the start of a cookie for the parser too, and nothing else in the header can be read as that
/// name. Everything else goes to the parser: a second candidate in any case (two cookies of one name, which is how
/// cookie tossing looks), quotes, <c>%</c> escapes, other separators or whitespace, and an empty value. The name must
/// be an HTTP token (the options validator refuses others), and names are never unescaped by the parser (.NET 8 on).
/// One instance reads one name; it is built once, with a vectorised case-insensitive search for that name
/// (<see cref="SearchValues{T}"/>): <c>string.IndexOf</c> with <c>OrdinalIgnoreCase</c> compares character by
/// character under the gateway's invariant globalization, and showed in the one-CPU profile (issue 18).
/// </remarks>
internal sealed class SingleCookie
{
    /// <summary>What a session cookie's value is made of: base64url, and the dot of a split-key cookie.</summary>
    private static readonly SearchValues<char> PlainValueChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");

    /// <summary>RFC 9110's token characters: the parser's cookie names are maximal runs of them.</summary>
    private static readonly SearchValues<char> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>Whether <paramref name="name"/> is an HTTP token, the only kind of cookie name this reader (and the parser) can find.</summary>
    public static bool IsToken(string name) => name.Length > 0 && name.AsSpan().IndexOfAnyExcept(TokenChars) < 0;

    private readonly string _name;

    /// <summary>The name in any case, as <c>IndexOf</c> with <c>OrdinalIgnoreCase</c> finds it.</summary>
    private readonly SearchValues<string> _nameInAnyCase;

    /// <param name="name">An HTTP token: the reader agrees with the parser only for such names (ASCII, no separators).</param>
    public SingleCookie(string name)
    {
        if (!IsToken(name))
        {
            throw new ArgumentException($"'{name}' is not an HTTP token, so it cannot be a cookie name this reader finds.", nameof(name));
        }

        _name = name;
        _nameInAnyCase = SearchValues.Create([name], StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// True with the cookie's value (null when it is absent) when the raw header answers unambiguously; false when the
    /// header has to go through the full parser.
    /// </summary>
    public bool TryRead(StringValues cookieHeader, out string? value)
    {
        value = null;
        var found = false;
        foreach (var header in cookieHeader)
        {
            if (string.IsNullOrEmpty(header))
            {
                continue;
            }

            for (var at = NextCandidate(header, 0); at >= 0; at = NextCandidate(header, at + 1))
            {
                if (found || !TryReadAt(header, at, out value))
                {
                    value = null;
                    return false;
                }

                found = true;
            }
        }

        return true;
    }

    /// <summary>Where the name occurs from <paramref name="from"/> on, in any case, not followed by a token character; -1 if nowhere.</summary>
    private int NextCandidate(string header, int from)
    {
        while (from < header.Length)
        {
            var found = header.AsSpan(from).IndexOfAny(_nameInAnyCase);
            if (found < 0)
            {
                return -1;
            }

            var at = from + found;
            var next = at + _name.Length;
            if (next == header.Length || !TokenChars.Contains(header[next]))
            {
                return at;
            }

            from = at + 1;
        }

        return -1;
    }

    /// <summary>The plain value of the cookie whose name starts at <paramref name="at"/>, if it is one.</summary>
    private bool TryReadAt(string header, int at, out string? value)
    {
        value = null;
        var startsACookie = at == 0 || (at >= 2 && header[at - 1] == ' ' && header[at - 2] == ';');
        var valueStart = at + _name.Length + 1;
        if (!startsACookie
            || valueStart > header.Length
            || header[valueStart - 1] != '='
            || !header.AsSpan(at, _name.Length).SequenceEqual(_name))
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
