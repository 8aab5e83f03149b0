using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;

namespace Portcullis.Demo.Provider;

internal static class Html
{
    public static IResult Page(HttpContext context, string title, string body)
    {
        // No script, style or frame is needed; a strict policy keeps it that way. There is deliberately
        // no form-action: browsers apply it to the redirects after the login POST, which end at the gateway.
        context.Response.Headers.ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
        context.Response.Headers.CacheControl = "no-store";
        return Results.Content(
            $"""
            <!DOCTYPE html>
            <html lang="en">
            <head><meta charset="utf-8"><title>{HtmlEncoder.Default.Encode(title)}</title></head>
            <body>
            {body}
            </body>
            </html>
            """,
            "text/html; charset=utf-8");
    }
}
