using System.Collections.Concurrent;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>
/// A real Kestrel upstream on loopback for proxy tests: records every request (method, path, headers, body length and, for
/// small bodies, the bytes) and answers with <c>respond</c> or a small JSON echo. WebSocket handshakes are recorded and
/// echoed. Bodies are read in chunks, so a 100 MB upload is counted, not kept.
/// </summary>
public sealed class ProxyUpstream : IAsyncDisposable
{
    private const int KeptBodyLimit = 1024 * 1024;

    private readonly WebApplication _app;

    private ProxyUpstream(WebApplication app, int port)
    {
        _app = app;
        Port = port;
        Url = $"http://127.0.0.1:{port}";
    }

    public int Port { get; }

    public string Url { get; }

    public ConcurrentQueue<UpstreamRequest> Requests { get; } = new();

    public static async Task<ProxyUpstream> StartAsync(Func<HttpContext, UpstreamRequest, Task>? respond = null)
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var upstream = new ProxyUpstream(app, port);
        app.UseWebSockets();
        app.Run(async context =>
        {
            var (length, kept) = await ReadBodyAsync(context.Request.Body, context.RequestAborted);
            var request = new UpstreamRequest(
                context.Request.Method,
                context.Request.Path + context.Request.QueryString,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                length,
                kept,
                context.WebSockets.IsWebSocketRequest);
            upstream.Requests.Enqueue(request);
            if (request.IsWebSocket)
            {
                await EchoAsync(await context.WebSockets.AcceptWebSocketAsync());
            }
            else if (respond is not null)
            {
                await respond(context, request);
            }
            else
            {
                await context.Response.WriteAsJsonAsync(new { path = request.PathAndQuery, method = request.Method, bodyLength = length });
            }
        });
        await app.StartAsync();
        return upstream;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static async Task<(long Length, byte[]? Kept)> ReadBodyAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        using var kept = new MemoryStream();
        long length = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            length += read;
            if (length <= KeptBodyLimit)
            {
                kept.Write(buffer, 0, read);
            }
        }

        return (length, length <= KeptBodyLimit ? kept.ToArray() : null);
    }

    private static async Task EchoAsync(WebSocket socket)
    {
        var buffer = new byte[4096];
        while (socket.State == WebSocketState.Open)
        {
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, CancellationToken.None);
        }
    }
}

public sealed record UpstreamRequest(string Method, string PathAndQuery, Dictionary<string, string> Headers, long BodyLength, byte[]? Body, bool IsWebSocket);
