using Microsoft.AspNetCore.Authorization;

namespace Portcullis.Authorization;

/// <summary>
/// The user may be allowed but authenticated too long ago (<see cref="MaxAge"/>) or not strongly enough (<see cref="Acr"/>):
/// answered 401 <c>step_up_required</c> with a hint the app turns into <c>/bff/login?maxAge=..&amp;acr=..</c>.
/// </summary>
public sealed class StepUpFailureReason(IAuthorizationHandler handler, string message, TimeSpan? maxAge, string? acr)
    : AuthorizationFailureReason(handler, message)
{
    public TimeSpan? MaxAge { get; } = maxAge;

    public string? Acr { get; } = acr;
}

/// <summary>
/// The provider could not answer (rate limited, down), so nothing was decided: answered 503 <c>provider_unavailable</c>
/// with <c>Retry-After</c>; the session is kept and nobody is admitted on a guess.
/// </summary>
public sealed class ProviderUnavailableFailureReason(IAuthorizationHandler handler, string message, int retryAfterSeconds)
    : AuthorizationFailureReason(handler, message)
{
    public int RetryAfterSeconds { get; } = retryAfterSeconds;
}
