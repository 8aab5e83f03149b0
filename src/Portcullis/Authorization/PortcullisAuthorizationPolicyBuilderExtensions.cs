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
}
