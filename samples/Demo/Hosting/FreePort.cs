using System.Net;
using System.Net.Sockets;

namespace Portcullis.Demo.Hosting;

internal static class FreePort
{
    // The provider's redirect URIs and the gateway's PublicOrigin must name the real port before any
    // host starts, so "port 0" is resolved up front instead of letting Kestrel choose. Kestrel also
    // refuses port 0 on "localhost", which the gateway must use. The small race (another process
    // taking the port in between) is acceptable for a demo and for tests on one machine.
    public static int Resolve(int requested)
    {
        if (requested != 0)
        {
            return requested;
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
