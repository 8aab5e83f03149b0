using Microsoft.Playwright;

namespace Portcullis.Browser.Tests.Infrastructure;

/// <summary>
/// Every request a browser context sent (with the headers Chromium really put on the wire, cookies included) and the
/// status and headers of every response. Bodies come from <see cref="ResponseTap"/>, which can still read them.
/// </summary>
public sealed class NetworkRecorder
{
    /// <summary>
    /// Raw headers come from Chromium's extra network events, which never arrive for some requests (a frame the browser
    /// refused to render, say): then the headers Playwright knew beforehand are all there is.
    /// </summary>
    private static readonly TimeSpan HeaderWait = TimeSpan.FromSeconds(5);

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
        IEnumerable<KeyValuePair<string, string>> headers;
        try
        {
            headers = (await response.HeadersArrayAsync().WaitAsync(HeaderWait)).Select(h => new KeyValuePair<string, string>(h.Name, h.Value));
        }
        catch (Exception exception) when (exception is PlaywrightException or TimeoutException)
        {
            headers = response.Headers;
        }

        var request = await CaptureAsync(response.Request);
        return new SeenResponse(
            response.Url,
            response.Status,
            headers.Select(h => new KeyValuePair<string, string>(h.Key.ToLowerInvariant(), h.Value)).ToArray(),
            request);
    }

    private static async Task<SeenRequest> CaptureAsync(IRequest request)
    {
        Dictionary<string, string> headers;
        try
        {
            headers = new Dictionary<string, string>(await request.AllHeadersAsync().WaitAsync(HeaderWait), StringComparer.OrdinalIgnoreCase);
        }
        catch (Exception exception) when (exception is PlaywrightException or TimeoutException)
        {
            headers = new Dictionary<string, string>(request.Headers, StringComparer.OrdinalIgnoreCase);
        }

        return new SeenRequest(request.Url, request.Method, request.ResourceType, headers);
    }
}

/// <summary>A request as Chromium sent it; <see cref="Headers"/> include the cookies it attached.</summary>
public sealed record SeenRequest(string Url, string Method, string ResourceType, Dictionary<string, string> Headers);

public sealed record SeenResponse(string Url, int Status, KeyValuePair<string, string>[] Headers, SeenRequest Request)
{
    public string? Header(string name) =>
        Headers.Where(h => h.Key == name.ToLowerInvariant()).Select(h => h.Value).FirstOrDefault();
}
