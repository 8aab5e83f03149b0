using Microsoft.AspNetCore.Authorization;

namespace Portcullis.Authorization;

/// <summary>Policy building blocks for endpoints of an app that uses Portcullis as a library.</summary>
public static class PortcullisAuthorizationPolicyBuilderExtensions
{
    /// <summary>Authenticates with the <c>Portcullis</c> session scheme and requires a signed-in user.</summary>
    public static AuthorizationPolicyBuilder RequirePortcullisSession(this AuthorizationPolicyBuilder builder) =>
        builder.AddAuthenticationSchemes(PortcullisAuthenticationDefaults.AuthenticationScheme).RequireAuthenticatedUser();

    /// <summary>Requires every one of <paramref name="scopes"/> to be granted to the session's access token.</summary>
    public static AuthorizationPolicyBuilder RequireScope(this AuthorizationPolicyBuilder builder, params string[] scopes) =>
        builder.AddRequirements(new ScopeRequirement(scopes));

    /// <summary>Requires the claim, with one of <paramref name="allowedValues"/> when any are given; the 403 says which.</summary>
    public static AuthorizationPolicyBuilder RequireClaimValue(this AuthorizationPolicyBuilder builder, string claimType, params string[] allowedValues) =>
        builder.AddRequirements(new ClaimValueRequirement(claimType, allowedValues));

    /// <summary>Requires a provider-verified e-mail address in one of <paramref name="domains"/> (e.g. <c>example.com</c>).</summary>
    public static AuthorizationPolicyBuilder RequireVerifiedEmailDomain(this AuthorizationPolicyBuilder builder, params string[] domains) =>
        builder.AddRequirements(new EmailDomainRequirement(domains));

    /// <summary>
    /// Requires membership of Discord guild <paramref name="guild"/> with at least one of <paramref name="roleIds"/> (any member
    /// when none), asked of Discord with the user's token; the <c>discord</c> provider must request <c>guilds.members.read</c>.
    /// </summary>
    public static AuthorizationPolicyBuilder RequireDiscordGuildRole(this AuthorizationPolicyBuilder builder, string guild, string? guildName = null, params string[] roleIds) =>
        builder.AddRequirements(new DiscordGuildRequirement(null, guild, roleIds, guildName));

    /// <summary>Requires active membership of a GitHub organization, or of its team <paramref name="team"/> (slug); needs <c>read:org</c>.</summary>
    public static AuthorizationPolicyBuilder RequireGitHubMembership(this AuthorizationPolicyBuilder builder, string organization, string? team = null) =>
        builder.AddRequirements(new GitHubMembershipRequirement(null, organization, team));

    /// <summary>Requires a sign-in at most <paramref name="maxAge"/> old and/or with <paramref name="acr"/>; else 401 <c>step_up_required</c>.</summary>
    public static AuthorizationPolicyBuilder RequireStepUp(this AuthorizationPolicyBuilder builder, TimeSpan? maxAge, string? acr = null) =>
        builder.AddRequirements(new StepUpRequirement(maxAge, acr));
}
