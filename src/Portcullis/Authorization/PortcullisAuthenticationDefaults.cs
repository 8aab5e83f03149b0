namespace Portcullis.Authorization;

/// <summary>Names of the <c>Portcullis</c> authentication scheme and what it puts into the <see cref="System.Security.Claims.ClaimsPrincipal"/>.</summary>
public static class PortcullisAuthenticationDefaults
{
    /// <summary>The scheme that turns the session cookie into a user. The default value is <c>Portcullis</c>.</summary>
    public const string AuthenticationScheme = "Portcullis";

    /// <summary>A policy that only asks for a signed-in Portcullis session: <c>RequireAuthorization(PortcullisAuthenticationDefaults.UserPolicy)</c>.</summary>
    public const string UserPolicy = "Portcullis.User";

    /// <summary>One claim of this type per scope granted to the session's access token (RFC 6749 §3.3).</summary>
    public const string ScopeClaimType = "scope";

    /// <summary>When the user last authenticated at the provider (seconds since the epoch), as the session recorded it.</summary>
    public const string AuthTimeClaimType = "auth_time";

    /// <summary>The authentication context class the provider reported for the session's login.</summary>
    public const string AcrClaimType = "acr";
}
