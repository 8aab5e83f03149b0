using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Portcullis.Gateway;

/// <summary>
/// In the Development environment, the gateway's last line: an exception no handler turned into an answer becomes a
/// plain 500 JSON with <c>no-store</c>. Without it, a gateway started with <c>ASPNETCORE_ENVIRONMENT=Development</c> would
/// answer with ASP.NET Core's developer exception page, which lists the request's headers, the session cookie among
/// them, to a script that made the request (SECURITY.md item 23). Placed inside that page, so it never sees one. In any
/// other environment there is no such page and Kestrel answers an empty 500, which shows nothing; the boundary is left
/// out there, so the request path of a production gateway carries no extra frame.
/// </summary>
internal static class GatewayErrorBoundary
{
    private const string Body = "{\"error\":\"server_error\",\"message\":\"The gateway could not complete this request.\"}";

    private static readonly Action<ILogger, string, string, string, string?, Exception?> Unhandled = LoggerMessage.Define<string, string, string, string?>(
        LogLevel.Error,
        new EventId(5011, "UnhandledRequestError"),
        "{Method} {Path} failed with an unhandled {Exception}; answered 500. {StackTrace}");

    public static void Use(WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            return;
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(GatewayErrorBoundary));
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception exception) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                // The type and the stack, never the message: an exception's text may quote input it refused.
                Unhandled(logger, context.Request.Method, context.Request.Path.Value ?? "/", exception.GetType().FullName ?? "exception", exception.StackTrace, null);
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                context.Response.Headers.CacheControl = "no-store";
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(Body);
            }
        });
    }
}
