using System.Net;
using System.Net.Sockets;

namespace Portcullis.Tests.Infrastructure;

/// <summary>
/// A port for a test server. It is taken below Linux's ephemeral range (32768–60999), where outgoing connections of
/// other processes never land, so a port found free stays free until the server binds it; and it is never handed out
/// twice within one test run. Test processes that run at the same time (test.sh runs the browser tests beside the
/// others) each get a range of their own through <c>PORTCULLIS_TEST_PORTS</c> (<c>first-last</c>), so one never hands
/// out a port the other has found free but not yet bound.
/// </summary>
internal static class FreePort
{
    private static readonly (int First, int Last) Range = ReadRange(Environment.GetEnvironmentVariable("PORTCULLIS_TEST_PORTS"));
    private static readonly int First = Range.First;
    private static readonly int Last = Range.Last;
    private static readonly HashSet<int> Handed = [];

    private static (int First, int Last) ReadRange(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return (20000, 32000);
        }

        var parts = value.Split('-');
        return parts.Length == 2 && int.TryParse(parts[0], out var first) && int.TryParse(parts[1], out var last) && first >= 1024 && first < last && last <= 32767
            ? (first, last)
            : throw new InvalidOperationException($"PORTCULLIS_TEST_PORTS '{value}' is not a range such as 20000-26000 below the ephemeral ports.");
    }

    public static int Next()
    {
        lock (Handed)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(First, Last);
                if (!Handed.Contains(port) && IsFree(port))
                {
                    Handed.Add(port);
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"No free port between {First} and {Last}.");
    }

    private static bool IsFree(int port)
    {
        foreach (var address in new[] { IPAddress.Loopback, IPAddress.IPv6Loopback })
        {
            try
            {
                using var listener = new TcpListener(address, port);
                listener.Start();
            }
            catch (SocketException exception) when (exception.SocketErrorCode != SocketError.AddressFamilyNotSupported)
            {
                return false;
            }
            catch (SocketException)
            {
                // No IPv6 on this machine: the IPv4 check decides.
            }
        }

        return true;
    }
}
