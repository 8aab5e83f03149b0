using System.Globalization;
using Microsoft.AspNetCore.Authorization;

namespace Portcullis.Authorization;

/// <summary>
/// The session's login must be recent (<see cref="MaxAge"/>, judged on the provider's <c>auth_time</c>) and/or of the
/// authentication context class <see cref="Acr"/>. Unlike a refusal, a miss is 401 <c>step_up_required</c>: the user can
/// fix it by signing in again with <c>/bff/login?maxAge=..&amp;acr=..</c>. Judged by <see cref="StepUpHandler"/> (it needs the clock).
/// </summary>
public sealed class StepUpRequirement(TimeSpan? maxAge, string? acr) : IAuthorizationRequirement
{
    public TimeSpan? MaxAge { get; } = maxAge;

    public string? Acr { get; } = acr;

    public override string ToString() => $"Step-up (max age {MaxAge}, acr {Acr})";
}

internal sealed class StepUpHandler(TimeProvider time) : AuthorizationHandler<StepUpRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, StepUpRequirement requirement)
    {
        var problems = new List<string>();
        if (requirement.MaxAge is { } maxAge)
        {
            var authTime = long.TryParse(context.User.FindFirst(PortcullisAuthenticationDefaults.AuthTimeClaimType)?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
                ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                : (DateTimeOffset?)null;
            if (authTime is null || time.GetUtcNow() - authTime.Value > maxAge)
            {
                problems.Add($"This needs a sign-in within the last {Describe(maxAge)}; sign in again.");
            }
        }

        if (requirement.Acr is { } acr && context.User.FindFirst(PortcullisAuthenticationDefaults.AcrClaimType)?.Value != acr)
        {
            problems.Add($"This needs a stronger sign-in ({acr}); sign in again.");
        }

        if (problems.Count == 0)
        {
            context.Succeed(requirement);
            return Task.CompletedTask;
        }

        var reason = new StepUpFailureReason(this, string.Join(" ", problems), requirement.MaxAge, requirement.Acr);
        ForbiddenReasons.AddDeferred(context, reason);
        context.Fail(reason);
        return Task.CompletedTask;
    }

    private static string Describe(TimeSpan span) =>
        span.TotalMinutes >= 1 && span.Seconds == 0 ? $"{(int)span.TotalMinutes} minute{(span.TotalMinutes == 1 ? string.Empty : "s")}" : $"{(int)span.TotalSeconds} seconds";
}
