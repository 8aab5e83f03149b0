using System.Net.Sockets;
using System.Text;

namespace Portcullis.Tests.Proxy;

/// <summary>
/// Sends an HTTP/1.1 request with exactly the request target given — HttpClient would normalise <c>..</c>, <c>//</c> and
/// absolute forms away before they ever reached the gateway, which is the point of these tests.
/// </summary>
internal static class RawHttp
{
    /// <param name="from">The local address to connect from (any loopback address works on Linux): a trusted proxy's, say. The default is the system's choice.</param>
    public static async Task<RawResponse> SendAsync(int port, string requestTarget, IDictionary<string, string>? headers = null, string method = "GET", System.Net.IPAddress? from = null)
    {
        using var client = from is null ? new TcpClient() : new TcpClient(new System.Net.IPEndPoint(from, 0));
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        var request = new StringBuilder($"{method} {requestTarget} HTTP/1.1\r\n");
        var allHeaders = new Dictionary<string, string>(headers ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase);
        allHeaders.TryAdd("Host", $"localhost:{port}");
        allHeaders.TryAdd("Connection", "close"); // a caller's own must still end in close: the answer is read to the end
        foreach (var (name, value) in allHeaders)
        {
            request.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        request.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var statusLine = text.Split("\r\n", 2)[0];
        var status = int.Parse(statusLine.Split(' ')[1]);
        var separator = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return new RawResponse(status, separator < 0 ? text : text[..separator], separator < 0 ? string.Empty : text[(separator + 4)..]);
    }
}

internal sealed record RawResponse(int Status, string Head, string Body);
