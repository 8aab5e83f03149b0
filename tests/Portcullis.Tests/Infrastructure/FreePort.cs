using System.Net;
using System.Net.Sockets;

namespace Portcullis.Tests.Infrastructure;

/// <summary>
/// A port for a test server. It is taken below Linux's ephemeral range (32768–60999), where outgoing connections of
/// other processes never land, so a port found free stays free until the server binds it; and it is never handed out
/// twice within one test run.
/// </summary>
internal static class FreePort
{
    private const int First = 20000;
    private const int Last = 32000;
    private static readonly HashSet<int> Handed = [];

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
