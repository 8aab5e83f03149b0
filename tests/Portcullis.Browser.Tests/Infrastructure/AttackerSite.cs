using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Browser.Tests.Infrastructure;

/// <summary>
/// Another site on loopback: <c>http://127.0.0.1:PORT</c> is a different site from the gateway's
/// <c>http://localhost:PORT</c>, so Chromium applies its cross-site rules (SameSite, CORS, framing) to it.
/// Tests put the attacker's pages here and see every request that reaches it (an open redirect would show up).
/// </summary>
public sealed class AttackerSite : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, string> _pages = new(StringComparer.Ordinal);

    private AttackerSite(WebApplication app, int port)
    {
        _app = app;
        Origin = $"http://127.0.0.1:{port}";
    }

    public string Origin { get; }

    /// <summary>Path and query of every request the attacker's server received.</summary>
    public ConcurrentQueue<string> Hits { get; } = new();

    public static async Task<AttackerSite> StartAsync()
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var site = new AttackerSite(app, port);
        app.Run(async context =>
        {
            site.Hits.Enqueue(context.Request.Path + context.Request.QueryString);
            if (site._pages.TryGetValue(context.Request.Path.Value ?? string.Empty, out var html))
            {
                context.Response.ContentType = "text/html; charset=utf-8";
                await context.Response.WriteAsync(html);
                return;
            }

            context.Response.StatusCode = 404;
        });
        await app.StartAsync();
        return site;
    }

    /// <summary>Serves <paramref name="html"/> at <paramref name="path"/> and returns the page's URL.</summary>
    public string Serve(string path, string html)
    {
        _pages[path] = html;
        return Origin + path;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
