using System.Globalization;

namespace Portcullis.Gateway;

/// <summary>
/// <c>portcullis probe [URL]</c>: a container health check that needs nothing the runtime image lacks (it has no curl
/// or wget). One GET, by default of <c>http://localhost:8080/healthz/live</c>; exit 0 on a 2xx answer, 1 on anything
/// else (another status, refused, timed out), which is what Docker's <c>HEALTHCHECK</c> reads (2 is reserved there).
/// It reads no configuration and starts no host, so it stays cheap when run every few seconds.
/// </summary>
public static class GatewayProbe
{
    /// <summary>The image listens on 8080 (<c>ASPNETCORE_URLS</c> in the Dockerfile); liveness needs no store or provider.</summary>
    public const string DefaultUrl = "http://localhost:8080/healthz/live";

    // Under Docker's default 30 s HEALTHCHECK timeout, and long enough for a busy 2-core host to answer.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static bool IsProbe(string[] args) => args.Length > 0 && args[0] == "probe";

    public static async Task<int> RunAsync(string[] args)
    {
        var target = args.Length > 1 ? args[1] : DefaultUrl;
        if (args.Length > 2 || !Uri.TryCreate(target, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            await Console.Error.WriteLineAsync($"probe: expected one http(s) URL, such as {DefaultUrl}.");
            return 1;
        }

        // No proxy: an HTTP_PROXY in the container's environment must not turn a local probe into a remote request.
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout };
        try
        {
            using var response = await client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead);
            var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            Console.WriteLine($"probe: {status} from {uri}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"probe: {uri} did not answer: {exception.Message}");
            return 1;
        }
    }
}
