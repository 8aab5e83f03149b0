using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Portcullis.Primitives;

namespace Portcullis.Http;

/// <summary>Writes a <see cref="PortcullisError"/> as JSON (APIs) or as a small page (browser navigations).</summary>
internal static class ErrorResponses
{
    public static IResult Json(PortcullisError error)
    {
        var json = Results.Json(new ErrorBody(error.Code, error.Message, error.StepUp), ErrorBodyJsonContext.Default.ErrorBody, statusCode: error.StatusCode);
        return error.RetryAfterSeconds is null && error.WwwAuthenticate is null ? json : new WithHeadersResult(json, error);
    }

    /// <summary>The error's <c>Retry-After</c> and <c>WWW-Authenticate</c> headers, then the body.</summary>
    private sealed class WithHeadersResult(IResult inner, PortcullisError error) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            if (error.RetryAfterSeconds is { } seconds)
            {
                httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (error.WwwAuthenticate is { } challenge)
            {
                httpContext.Response.Headers.WWWAuthenticate = challenge;
            }

            return inner.ExecuteAsync(httpContext);
        }
    }

    /// <summary>For endpoints a person reaches by navigation (login, callback): a page when the browser asks for HTML.</summary>
    public static IResult ForNavigation(HttpContext context, PortcullisError error)
    {
        var accept = context.Request.Headers.Accept.ToString();
        if (!accept.Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            return Json(error);
        }

        var title = WebUtility.HtmlEncode(error.StatusCode >= 500 ? "Sign-in is unavailable" : "Sign-in did not work");
        var html = $$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>{{title}}</title></head>
            <body><h1>{{title}}</h1><p>{{WebUtility.HtmlEncode(error.Message)}}</p>
            <p><code>{{WebUtility.HtmlEncode(error.Code)}}</code></p><p><a href="/">Back to the application</a></p></body></html>
            """;
        var page = Results.Content(html, "text/html; charset=utf-8", statusCode: error.StatusCode);
        return error.RetryAfterSeconds is null && error.WwwAuthenticate is null ? page : new WithHeadersResult(page, error);
    }
}

/// <summary>
/// Marks an endpoint a person reaches by navigation (login, callback): errors that happen outside the endpoint's own
/// code, such as a store outage, are answered with <see cref="ErrorResponses.ForNavigation"/> there too.
/// </summary>
internal sealed class NavigationEndpoint
{
    public static NavigationEndpoint Instance { get; } = new();

    private NavigationEndpoint()
    {
    }
}

internal sealed record ErrorBody(string Error, string Message, StepUpHint? StepUp = null);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(
    PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ErrorBody))]
internal sealed partial class ErrorBodyJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
