using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Portcullis.Primitives;

namespace Portcullis.Authorization;

/// <summary>Turns a failed authorization into the 403 <c>forbidden</c> answer with a reason a developer can act on.</summary>
internal static class AuthorizationErrors
{
    public const string DefaultReason = "You are signed in but lack what this resource requires.";

    public static PortcullisError Forbidden(string? reason) => new(403, "forbidden", reason ?? DefaultReason);

    /// <summary>
    /// The answer to a failed policy: a definite refusal wins (403 <c>forbidden</c>); otherwise a provider that could not
    /// answer (503 <c>provider_unavailable</c>, Retry-After); otherwise a missing step-up (401 <c>step_up_required</c>).
    /// </summary>
    public static PortcullisError For(AuthorizationFailure? failure) => Choose(failure?.FailureReasons ?? [], () => Describe(failure));

    internal static PortcullisError Choose(IEnumerable<AuthorizationFailureReason> reasons, Func<string> describeRefusal)
    {
        var list = reasons.ToList();
        if (list.Count == 0 || list.Any(r => !IsDeferred(r)))
        {
            return Forbidden(describeRefusal());
        }

        if (list.OfType<ProviderUnavailableFailureReason>().FirstOrDefault() is { } unavailable)
        {
            return new PortcullisError(503, "provider_unavailable", unavailable.Message) { RetryAfterSeconds = unavailable.RetryAfterSeconds };
        }

        var stepUps = list.OfType<StepUpFailureReason>().ToList();
        var maxAge = stepUps.Where(s => s.MaxAge is not null).Select(s => (int?)Math.Max(0, (int)s.MaxAge!.Value.TotalSeconds)).Min();
        var acr = stepUps.Select(s => s.Acr).FirstOrDefault(a => a is not null);
        return new PortcullisError(401, "step_up_required", string.Join(" ", stepUps.Select(s => s.Message).Distinct(StringComparer.Ordinal)))
        {
            StepUp = new StepUpHint(maxAge, acr),
        };
    }

    private static bool IsDeferred(AuthorizationFailureReason reason) => reason is StepUpFailureReason or ProviderUnavailableFailureReason;

    /// <summary>
    /// Reasons given by requirement handlers (<see cref="AuthorizationFailureReason"/>) first; requirements that failed without
    /// saying why (e.g. ASP.NET's own <c>RequireClaim</c>) are described by their <c>ToString()</c>.
    /// </summary>
    public static string Describe(AuthorizationFailure? failure)
    {
        if (failure is null)
        {
            return DefaultReason;
        }

        var reasons = failure.FailureReasons.Where(r => !IsDeferred(r)).Select(r => r.Message).ToList();
        if (reasons.Count == 0)
        {
            reasons.AddRange(failure.FailedRequirements.Select(r => r.ToString() ?? r.GetType().Name));
        }

        return reasons.Count == 0 ? DefaultReason : string.Join(" ", reasons.Distinct(StringComparer.Ordinal));
    }
}

/// <summary>
/// Lets requirement handlers leave their reason on the request, so the scheme's <c>Forbid</c> (which ASP.NET calls without
/// the failure) can still say why on endpoints guarded by the authorization middleware.
/// </summary>
public static class ForbiddenReasons
{
    /// <summary>Records why a requirement failed, when the authorization resource is the request (endpoint routing).</summary>
    public static void Add(AuthorizationHandlerContext context, string reason)
    {
        if (context.Resource is HttpContext httpContext)
        {
            ForbiddenReasonsFeature.For(httpContext).Refusals.Add(reason);
        }
    }

    /// <summary>Records a reason that is not a refusal (step-up, provider unavailable) so the scheme's <c>Forbid</c> answers it.</summary>
    internal static void AddDeferred(AuthorizationHandlerContext context, AuthorizationFailureReason reason)
    {
        if (context.Resource is HttpContext httpContext)
        {
            ForbiddenReasonsFeature.For(httpContext).Deferred.Add(reason);
        }
    }

    /// <summary>What the scheme's <c>Forbid</c> answers: refusals first, then deferred reasons, else the default refusal.</summary>
    internal static PortcullisError ErrorFor(HttpContext httpContext)
    {
        if (Read(httpContext) is { } refusal)
        {
            return AuthorizationErrors.Forbidden(refusal);
        }

        return httpContext.Features.Get<ForbiddenReasonsFeature>() is { Deferred: { Count: > 0 } deferred }
            ? AuthorizationErrors.Choose(deferred, () => AuthorizationErrors.DefaultReason)
            : AuthorizationErrors.Forbidden(null);
    }

    internal static string? Read(HttpContext httpContext) =>
        httpContext.Features.Get<ForbiddenReasonsFeature>() is { Refusals: { Count: > 0 } reasons } ? string.Join(" ", reasons.Distinct(StringComparer.Ordinal)) : null;
}

/// <summary>The reasons requirement handlers left on the request (a typed request feature), read by the scheme's <c>Forbid</c>.</summary>
internal sealed class ForbiddenReasonsFeature
{
    public List<string> Refusals { get; } = [];

    public List<AuthorizationFailureReason> Deferred { get; } = [];

    public static ForbiddenReasonsFeature For(HttpContext context)
    {
        if (context.Features.Get<ForbiddenReasonsFeature>() is not { } feature)
        {
            feature = new ForbiddenReasonsFeature();
            context.Features.Set(feature);
        }

        return feature;
    }
}
