using Microsoft.Playwright;

namespace Portcullis.Browser.Tests.Infrastructure;

/// <summary>
/// Everything a browser context sent and received, captured as it happens (bodies are read at once, because
/// Chromium forgets them after the page navigates on). Redirect responses have no body to read.
/// </summary>
public sealed class NetworkRecorder
{
    private readonly List<Task<SeenResponse>> _responses = [];
    private readonly List<Task<SeenRequest>> _requests = [];

    private NetworkRecorder()
    {
    }

    public static NetworkRecorder Attach(IBrowserContext context)
    {
        var recorder = new NetworkRecorder();
        context.Response += (_, response) =>
        {
            lock (recorder._responses)
            {
                recorder._responses.Add(CaptureAsync(response));
            }
        };
        context.Request += (_, request) =>
        {
            lock (recorder._requests)
            {
                recorder._requests.Add(CaptureAsync(request));
            }
        };
        return recorder;
    }

    public async Task<SeenResponse[]> ResponsesAsync()
    {
        Task<SeenResponse>[] pending;
        lock (_responses)
        {
            pending = [.. _responses];
        }

        return await Task.WhenAll(pending);
    }

    public async Task<SeenRequest[]> RequestsAsync()
    {
        Task<SeenRequest>[] pending;
        lock (_requests)
        {
            pending = [.. _requests];
        }

        return await Task.WhenAll(pending);
    }

    private static async Task<SeenResponse> CaptureAsync(IResponse response)
    {
        var headers = await response.HeadersArrayAsync();
        Dictionary<string, string> requestHeaders;
        try
        {
            requestHeaders = new Dictionary<string, string>(await response.Request.AllHeadersAsync(), StringComparer.OrdinalIgnoreCase);
        }
        catch (PlaywrightException)
        {
            requestHeaders = new Dictionary<string, string>(response.Request.Headers, StringComparer.OrdinalIgnoreCase);
        }

        var body = string.Empty;
        if (response.Status is < 300 or >= 400)
        {
            try
            {
                body = await response.TextAsync();
            }
            catch (PlaywrightException)
            {
                // The page went away before the body was complete (an aborted load); there is nothing to inspect.
            }
        }

        return new SeenResponse(
            response.Url,
            response.Request.Method,
            response.Status,
            headers.Select(h => new KeyValuePair<string, string>(h.Name.ToLowerInvariant(), h.Value)).ToArray(),
            body,
            requestHeaders);
    }

    private static async Task<SeenRequest> CaptureAsync(IRequest request)
    {
        Dictionary<string, string> headers;
        try
        {
            // The headers Chromium really sent (cookies included), not only those the page asked for.
            headers = new Dictionary<string, string>(await request.AllHeadersAsync(), StringComparer.OrdinalIgnoreCase);
        }
        catch (PlaywrightException)
        {
            headers = new Dictionary<string, string>(request.Headers, StringComparer.OrdinalIgnoreCase);
        }

        return new SeenRequest(request.Url, request.Method, request.ResourceType, headers);
    }
}

public sealed record SeenResponse(
    string Url, string Method, int Status, KeyValuePair<string, string>[] Headers, string Body, Dictionary<string, string> RequestHeaders)
{
    public string? Header(string name) =>
        Headers.Where(h => h.Key == name.ToLowerInvariant()).Select(h => h.Value).FirstOrDefault();
}

/// <summary>A request as Chromium sent it; <see cref="Headers"/> include the cookies it attached.</summary>
public sealed record SeenRequest(string Url, string Method, string ResourceType, Dictionary<string, string> Headers);
