using System.Net;
using Duende.IdentityModel.Client;

namespace Portcullis.Agent;

/// <summary>How long a rate-limiting provider asks us to wait, from <c>Retry-After</c> or Discord's <c>retry_after</c> body member.</summary>
internal static class ProviderRetry
{
    /// <summary>Longest wait passed on to the app; a provider asking for more is still "try again later", not "signed out".</summary>
    public const int MaxSeconds = 300;

    public static int? RetryAfterSeconds(ProtocolResponse response)
    {
        if (response.HttpStatusCode != HttpStatusCode.TooManyRequests)
        {
            return null;
        }

        double? seconds = null;
        if (response.HttpResponse?.Headers.RetryAfter?.Delta is { } delta)
        {
            seconds = delta.TotalSeconds;
        }
        else if (response.Json?.TryGetProperty("retry_after", out var body) == true && body.TryGetDouble(out var value))
        {
            seconds = value;
        }
        else if (response.Raw is { Length: > 0 } raw && raw.TrimStart().StartsWith('{'))
        {
            seconds = ParseRetryAfter(raw);
        }

        return (int)Math.Clamp(Math.Ceiling(seconds ?? 1), 1, MaxSeconds);
    }

    // Duende parses JSON only on success and on 400, so a 429's body is read here.
    private static double? ParseRetryAfter(string raw)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(raw);
            return document.RootElement.TryGetProperty("retry_after", out var value) && value.TryGetDouble(out var seconds) ? seconds : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
