namespace Portcullis.Agent;

/// <summary>What of a provider's error answers may be echoed into logs and pages.</summary>
internal static class ProviderErrors
{
    /// <summary>Provider error codes are ASCII tokens (RFC 6749 §5.2); anything else is replaced, so a provider cannot inject log lines.</summary>
    public static string Sanitize(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "unknown_error";
        }

        var clean = value.Length <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ' ');
        return clean ? value : "unrecognized_error";
    }

    /// <summary>What to log about a failure: the exception's type, or the reason of a refusal the gateway made itself.</summary>
    public static string Describe(Exception exception) =>
        exception.GetBaseException() is InsecureProviderEndpointException insecure ? insecure.Message : exception.GetType().Name;

    /// <summary>Failures of a back-channel call that mean "the provider is unreachable or too slow", not a bug.</summary>
    public static bool IsTransient(Exception exception) =>
        exception is HttpRequestException or IOException or TaskCanceledException or InvalidOperationException or TimeoutException;

    /// <summary>
    /// Whether a request that failed this way may have reached the provider, so that it may have acted on it (rotated
    /// a refresh token) although its answer never arrived: everything except failing to connect at all.
    /// </summary>
    public static bool MayHaveReachedProvider(Exception exception) => exception is not HttpRequestException
    {
        HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
            or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError,
    };
}
