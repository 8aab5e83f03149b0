using Microsoft.AspNetCore.Authorization;

namespace Portcullis.Authorization;

/// <summary>The user must have a claim of <see cref="ClaimType"/>, with one of <see cref="AllowedValues"/> when any are given.</summary>
public sealed class ClaimValueRequirement : AuthorizationHandler<ClaimValueRequirement>, IAuthorizationRequirement
{
    public ClaimValueRequirement(string claimType, IEnumerable<string>? allowedValues = null)
    {
        ClaimType = claimType;
        AllowedValues = allowedValues?.ToArray() ?? [];
    }

    public string ClaimType { get; }

    public IReadOnlyList<string> AllowedValues { get; }

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ClaimValueRequirement requirement)
    {
        var values = context.User.FindAll(requirement.ClaimType).Select(c => c.Value);
        if (requirement.AllowedValues.Count == 0 ? values.Any() : values.Any(v => requirement.AllowedValues.Contains(v, StringComparer.Ordinal)))
        {
            context.Succeed(requirement);
            return Task.CompletedTask;
        }

        var reason = requirement.AllowedValues.Count == 0
            ? $"The user has no {requirement.ClaimType} claim."
            : $"The user's {requirement.ClaimType} claim must be one of: {string.Join(", ", requirement.AllowedValues)}.";
        ForbiddenReasons.Add(context, reason);
        context.Fail(new AuthorizationFailureReason(this, reason));
        return Task.CompletedTask;
    }

    public override string ToString() => $"Claim {ClaimType}";
}
