using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Primitives;

namespace Portcullis.Sessions;

/// <summary>
/// Seed 000's anomaly checks: a session cookie presented by another browser (<c>User-Agent</c>) or from another network
/// than at login may have been stolen. Each check reacts as configured; the most severe reaction wins.
/// The client address is the connection's remote address (behind trusted proxies, the forwarded one).
/// <para>
/// An anomaly is logged once per session and kind on this node, not on every request: with the reaction <c>log</c> the
/// session goes on, and a browser update mid-session (or anyone with their own session and another agent) would
/// otherwise write a warning per request and slow the gateway to a crawl (issue 17).
/// </para>
/// </summary>
internal sealed class SessionAnomalyDetector(IOptions<PortcullisOptions> options, ILogger<SessionAnomalyDetector> logger)
{
    /// <summary>Longest <c>User-Agent</c> kept with a session.</summary>
    public const int MaxUserAgentLength = 256;

    /// <summary>Sessions and kinds already reported; bounded, crudely: when full it starts over (a repeat line, never unbounded memory).</summary>
    private const int ReportedCapacity = 10_000;

    private readonly SessionAnomalyOptions _options = options.Value.Session.Anomalies;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Handle, string Anomaly), byte> _reported = new();

    public static string? UserAgentOf(HttpContext context)
    {
        var value = context.Request.Headers.UserAgent.ToString();
        return value.Length <= MaxUserAgentLength ? value : value[..MaxUserAgentLength];
    }

    public string? ClientNetworkOf(HttpContext context) =>
        ClientNetwork.Of(context.Connection.RemoteIpAddress, _options.Ipv4PrefixLength, _options.Ipv6PrefixLength);

    /// <summary>Null when the request may use the session; otherwise the error to answer with after the session is ended.</summary>
    public PortcullisError? Check(HttpContext context, CurrentSession session)
    {
        var reaction = SessionAnomalyReactions.Log;
        var anomalous = false;
        if (!string.Equals(UserAgentOf(context) ?? string.Empty, session.Data.UserAgent ?? string.Empty, StringComparison.Ordinal))
        {
            anomalous = true;
            reaction = Report(session, "the user agent", _options.UserAgentChange, reaction);
        }

        // A session from before the check existed (or a connection without an address) has nothing to compare.
        if (session.Data.ClientNetwork is { } loginNetwork && context.Connection.RemoteIpAddress is { } address
            && !ClientNetwork.Contains(loginNetwork, address, _options.Ipv4PrefixLength, _options.Ipv6PrefixLength))
        {
            anomalous = true;
            reaction = Report(session, "the client network", _options.ClientNetworkChange, reaction);
        }

        return !anomalous ? null : reaction switch
        {
            SessionAnomalyReactions.End => new PortcullisError(401, "unauthenticated", "The session was ended because it was used from another browser or network. Sign in again."),
            SessionAnomalyReactions.Reauthenticate => new PortcullisError(401, "reauthentication_required", "The session was used from another browser or network; sign in again to continue."),
            _ => null,
        };
    }

    private string Report(CurrentSession session, string anomaly, string reaction, string strongestSoFar)
    {
        if (_reported.Count >= ReportedCapacity)
        {
            _reported.Clear();
        }

        if (_reported.TryAdd((session.Record.Handle, anomaly), 0))
        {
            Log.SessionAnomaly(logger, session.Record.Handle, session.Record.UserId, anomaly, reaction);
        }

        return Severity(reaction) > Severity(strongestSoFar) ? reaction : strongestSoFar;
    }

    private static int Severity(string reaction) => reaction switch
    {
        SessionAnomalyReactions.End => 2,
        SessionAnomalyReactions.Reauthenticate => 1,
        _ => 0,
    };
}

/// <summary>The network an address belongs to, as text: the address masked to a prefix (e.g. <c>198.51.100.0/24</c>).</summary>
internal static class ClientNetwork
{
    /// <summary>Room for the longest text <see cref="Of"/> makes (43 characters: a full IPv6 address, no scope, and "/128").</summary>
    private const int MaxLength = 64;

    public static string? Of(IPAddress? address, int ipv4PrefixLength, int ipv6PrefixLength)
    {
        if (address is null)
        {
            return null;
        }

        Span<char> text = stackalloc char[MaxLength];
        return new string(text[..Format(address, ipv4PrefixLength, ipv6PrefixLength, text)]);
    }

    /// <summary>
    /// Whether <paramref name="address"/> belongs to <paramref name="network"/>, as <see cref="Of"/> wrote it at login.
    /// Every request with a session asks, so the text is compared on the stack, never built (issue 18).
    /// </summary>
    public static bool Contains(string network, IPAddress address, int ipv4PrefixLength, int ipv6PrefixLength)
    {
        Span<char> text = stackalloc char[MaxLength];
        return text[..Format(address, ipv4PrefixLength, ipv6PrefixLength, text)].SequenceEqual(network);
    }

    private static int Format(IPAddress address, int ipv4PrefixLength, int ipv6PrefixLength, Span<char> destination)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var length);
        bytes = bytes[..length];
        // An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d; it is still an IPv4 client.
        if (address.IsIPv4MappedToIPv6)
        {
            bytes = bytes[12..];
        }

        var prefix = bytes.Length == 4 ? ipv4PrefixLength : ipv6PrefixLength;
        for (var bit = prefix; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        new IPAddress(bytes).TryFormat(destination, out var written);
        destination[written++] = '/';
        prefix.TryFormat(destination[written..], out var digits, provider: System.Globalization.CultureInfo.InvariantCulture);
        return written + digits;
    }
}
