using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;

namespace Portcullis.Browser.Tests.Infrastructure;

/// <summary>
/// Every response one page received, body included, read through the Chrome DevTools Protocol's <c>Fetch</c> domain
/// at the response stage and then let through unchanged. Playwright's own response events cannot do this for every
/// response: Chromium drops the body of a document the page leaves at once, such as the callback's landing page.
/// </summary>
public sealed class ResponseTap
{
    private readonly ICDPSession _cdp;
    private readonly ConcurrentQueue<TappedResponse> _responses = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private ResponseTap(ICDPSession cdp) => _cdp = cdp;

    public IReadOnlyCollection<TappedResponse> Responses => _responses;

    /// <summary>Problems reading a body or releasing a response; a test expecting a complete record asserts this is empty.</summary>
    public IReadOnlyCollection<string> Errors => _errors;

    public static async Task<ResponseTap> AttachAsync(IPage page)
    {
        var cdp = await page.Context.NewCDPSessionAsync(page);
        var tap = new ResponseTap(cdp);
        cdp.Event("Fetch.requestPaused").OnEvent += (_, paused) =>
        {
            if (paused is { } value)
            {
                _ = tap.TakeAsync(value);
            }
        };
        await cdp.SendAsync("Fetch.enable", new Dictionary<string, object>
        {
            ["patterns"] = new object[] { new Dictionary<string, object> { ["urlPattern"] = "*", ["requestStage"] = "Response" } },
        });
        return tap;
    }

    private async Task TakeAsync(JsonElement paused)
    {
        var requestId = paused.GetProperty("requestId").GetString()!;
        try
        {
            _responses.Enqueue(await ReadAsync(requestId, paused));
        }
        catch (Exception exception) when (exception is PlaywrightException or InvalidOperationException or FormatException)
        {
            _errors.Enqueue($"{paused.GetProperty("request").GetProperty("url").GetString()}: {exception.Message}");
        }
        finally
        {
            try
            {
                await _cdp.SendAsync("Fetch.continueResponse", new Dictionary<string, object> { ["requestId"] = requestId });
            }
            catch (PlaywrightException)
            {
                // The request was cancelled meanwhile (the page navigated on); nothing waits for it.
            }
        }
    }

    private async Task<TappedResponse> ReadAsync(string requestId, JsonElement paused)
    {
        var url = paused.GetProperty("request").GetProperty("url").GetString()!;
        var status = paused.TryGetProperty("responseStatusCode", out var code) ? code.GetInt32() : 0;
        var headers = paused.TryGetProperty("responseHeaders", out var list)
            ? list.EnumerateArray().Select(h => new KeyValuePair<string, string>(
                h.GetProperty("name").GetString()!.ToLowerInvariant(), h.GetProperty("value").GetString()!)).ToArray()
            : [];

        // A redirect, or an answer that says it has no body, has nothing the protocol can give.
        if (status is >= 300 and < 400 || headers.Any(h => h.Key == "content-length" && h.Value == "0"))
        {
            return new TappedResponse(url, status, headers, string.Empty);
        }

        var result = (await _cdp.SendAsync("Fetch.getResponseBody", new Dictionary<string, object> { ["requestId"] = requestId }))!.Value;
        var body = result.GetProperty("body").GetString()!;
        if (result.GetProperty("base64Encoded").GetBoolean())
        {
            body = Encoding.UTF8.GetString(Convert.FromBase64String(body));
        }

        return new TappedResponse(url, status, headers, body);
    }
}

public sealed record TappedResponse(string Url, int Status, KeyValuePair<string, string>[] Headers, string Body);
