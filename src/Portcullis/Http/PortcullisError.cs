namespace Portcullis.Http;

/// <summary>
/// An expected failure, as a value. Every error the gateway answers with is one of these, turned into HTTP in one
/// place (<see cref="ErrorResponses"/>): <c>{"error": code, "message": text}</c> for APIs, a readable page for browser flows.
/// </summary>
public sealed record PortcullisError(int StatusCode, string Code, string Message)
{
    public static PortcullisError Unauthenticated { get; } =
        new(401, "unauthenticated", "There is no valid session. Sign in again.");

    public static PortcullisError ReauthenticationRequired { get; } =
        new(401, "reauthentication_required", "The provider no longer accepts this sign-in; the session has been ended. Sign in again.");

    public static PortcullisError CsrfCheckFailed { get; } =
        new(403, "csrf_check_failed", "The request lacks the anti-forgery header or comes from another site.");

    public static PortcullisError UnknownProvider { get; } =
        new(400, "invalid_request", "The identity provider is unknown.");

    public static PortcullisError ProviderUnavailable { get; } =
        new(502, "provider_unavailable", "The identity provider could not be reached. Try again shortly.");

    public static PortcullisError UpstreamUnavailable { get; } =
        new(502, "upstream_unavailable", "The API could not be reached.");

    public static PortcullisError InvalidRequest(string message) => new(400, "invalid_request", message);

    public static PortcullisError LoginFailed(string message) => new(400, "login_failed", message);
}
