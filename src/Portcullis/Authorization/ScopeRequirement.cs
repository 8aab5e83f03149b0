using Microsoft.AspNetCore.Authorization;

namespace Portcullis.Authorization;

/// <summary>
/// The session's grant must include every one of <see cref="Scopes"/>. Requirement and handler in one type, like ASP.NET's
/// <c>ClaimsAuthorizationRequirement</c>, so it needs no registration; new kinds (roles at a provider, teams, step-up) plug in
/// the same way and report their reason with <see cref="AuthorizationFailureReason"/>.
/// </summary>
public sealed class ScopeRequirement : AuthorizationHandler<ScopeRequirement>, IAuthorizationRequirement
{
    public ScopeRequirement(IEnumerable<string> scopes) => Scopes = scopes.ToArray();

    public IReadOnlyList<string> Scopes { get; }

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        var granted = context.User.FindAll(PortcullisAuthenticationDefaults.ScopeClaimType).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        var missing = requirement.Scopes.Where(s => !granted.Contains(s)).ToArray();
        if (missing.Length == 0)
        {
            context.Succeed(requirement);
            return Task.CompletedTask;
        }

        var reason = $"This session was not granted the scope{(missing.Length > 1 ? "s" : string.Empty)} {string.Join(", ", missing)}.";
        ForbiddenReasons.Add(context, reason);
        context.Fail(new AuthorizationFailureReason(this, reason));
        return Task.CompletedTask;
    }

    public override string ToString() => $"Scopes: {string.Join(' ', Scopes)}";
}
