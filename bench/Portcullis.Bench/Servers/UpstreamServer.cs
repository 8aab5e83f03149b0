using System.Text;

namespace Portcullis.Bench.Servers;

/// <summary>
/// The API behind every proxy: minimal Kestrel with a small JSON answer and a 64 KiB one, both precomputed so the
/// upstream costs as little as possible and the proxies' differences show.
/// </summary>
internal static class UpstreamServer
{
    /// <summary>The API route every proxy forwards; the upstream answers under any <c>/api/{route}/</c> alike.</summary>
    public const string OrdersRoute = "/api/orders";

    public const string Small = "/small";
    public const string Large = "/large";

    /// <summary>Which authorization scheme arrived (never the credential itself): the harness's proof that Portcullis attached a Bearer token.</summary>
    public const string Scheme = "/scheme";

    public const string SmallPath = OrdersRoute + Small;

    public const int LargeSize = 64 * 1024;

    public static readonly byte[] SmallBody = Encoding.UTF8.GetBytes("""{"id":42,"status":"shipped","total":19.99,"currency":"EUR"}""");

    public static readonly byte[] LargeBody = MakeLarge();

    public static async Task RunAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(System.Net.IPAddress.Loopback, port);
        });
        var app = builder.Build();
        app.MapGet("/healthz", () => "ok");
        app.MapGet("/api/{route}" + Small, (HttpContext context) => WriteAsync(context, SmallBody));
        app.MapGet("/api/{route}" + Large, (HttpContext context) => WriteAsync(context, LargeBody));
        app.MapGet("/api/{route}" + Scheme, (HttpContext context) =>
            Results.Json(new { scheme = context.Request.Headers.Authorization.ToString().Split(' ', 2)[0] }));
        await app.RunAsync();
    }

    private static Task WriteAsync(HttpContext context, byte[] body)
    {
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body).AsTask();
    }

    private static byte[] MakeLarge()
    {
        var prefix = "{\"items\":\""u8.ToArray();
        var suffix = "\"}"u8.ToArray();
        var body = new byte[LargeSize];
        prefix.CopyTo(body, 0);
        body.AsSpan(prefix.Length, LargeSize - prefix.Length - suffix.Length).Fill((byte)'x');
        suffix.CopyTo(body, LargeSize - suffix.Length);
        return body;
    }
}
