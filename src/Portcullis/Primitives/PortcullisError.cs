namespace Portcullis.Primitives;

/// <summary>
/// An expected failure, as a value. Every error the gateway answers with is one of these, turned into HTTP in one
/// place (<c>Portcullis.Http.ErrorResponses</c>, on the HTTP floor): <c>{"error": code, "message": text}</c> for APIs, a readable page for browser flows.
/// </summary>
internal sealed record PortcullisError(int StatusCode, string Code, string Message)
{
    /// <summary>Seconds after which retrying makes sense; sent as <c>Retry-After</c> when set.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>A <c>WWW-Authenticate</c> challenge sent with the answer when set (RFC 6750 §3 for refused bearer tokens).</summary>
    public string? WwwAuthenticate { get; init; }

    /// <summary>For <c>step_up_required</c>: what the step-up login must ask for (<c>/bff/login?maxAge=..&amp;acr=..</c>).</summary>
    public StepUpHint? StepUp { get; init; }

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

    /// <summary>A refresh could not reach the provider: the session and its tokens are kept; try again shortly (SECURITY.md item 27).</summary>
    public static PortcullisError RefreshUnavailable { get; } =
        new(503, "provider_unavailable", "The identity provider could not be reached to renew access. Try again shortly.") { RetryAfterSeconds = 5 };

    /// <summary>The shared store is unreachable (restart, failover): nothing was changed and the session is kept; retry shortly.</summary>
    public static PortcullisError StoreUnavailable { get; } =
        new(503, "store_unavailable", "The gateway's storage is temporarily unavailable. Try again shortly.") { RetryAfterSeconds = 2 };

    public static PortcullisError UpstreamUnavailable { get; } =
        new(502, "upstream_unavailable", "The API could not be reached.");

    public static PortcullisError InvalidRequest(string message) => new(400, "invalid_request", message);

    public static PortcullisError LoginFailed(string message) => new(400, "login_failed", message);

    /// <summary>A feature that needs sessions kept on the server, asked of a gateway in stateless mode (ADR 0033).</summary>
    public static PortcullisError NeedsServerSessions(string feature) =>
        new(400, "not_supported", $"{feature} needs sessions kept on the server, and this gateway runs with Portcullis:Session:Mode 'stateless'.");
}

/// <summary>The <c>stepUp</c> member of a 401 <c>step_up_required</c>: <see cref="MaxAge"/> in seconds and <see cref="Acr"/>, as <c>/bff/login</c> takes them.</summary>
internal sealed record StepUpHint(int? MaxAge, string? Acr);
