using System.Net;
using Microsoft.AspNetCore.Http;

namespace Portcullis.Proxy;

/// <summary>
/// The address at the other end of the connection, kept before the forwarded-headers middleware replaces
/// <c>RemoteIpAddress</c> with the client address a trusted proxy reports. Forward-auth needs the proxy's own address:
/// only a listed proxy may receive its answer, which carries the user's token.
/// </summary>
internal sealed record ConnectionPeer(IPAddress? Address)
{
    public static ConnectionPeer? Of(HttpContext context) => context.Features.Get<ConnectionPeer>();
}
