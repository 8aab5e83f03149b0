using Microsoft.AspNetCore.Authorization;
using Portcullis.Configuration;

namespace Portcullis.Authorization;

/// <summary>
/// Compiles a route's <c>RequireScopes</c> / <c>RequireClaims</c> and its named <c>Policy</c> (from <c>Portcullis:Policies</c>)
/// into one ASP.NET Core <see cref="AuthorizationPolicy"/> once, at start.
/// </summary>
internal static class ApiRoutePolicies
{
    public static AuthorizationPolicy? Build(ApiRouteOptions options, PortcullisOptions? root = null)
    {
        var named = options.Policy is { } name && root is not null && root.Policies.TryGetValue(name, out var policy) ? policy : null;
        if (options.RequireScopes.Count == 0 && options.RequireClaims.Count == 0 && named is null)
        {
            return null;
        }

        var builder = AddRouteRequirements(new AuthorizationPolicyBuilder().RequirePortcullisSession(), options);
        if (named is not null)
        {
            AccessPolicies.AddRequirements(builder, named);
        }

        return builder.Build();
    }

    /// <summary>
    /// A route's <c>RequireScopes</c> and <c>RequireClaims</c> for a caller's own token (bearer pass-through, ADR 0042),
    /// judged on the token's claims rather than a session; null when the route requires neither.
    /// </summary>
    public static AuthorizationPolicy? BuildForBearer(ApiRouteOptions options)
    {
        if (options.RequireScopes.Count == 0 && options.RequireClaims.Count == 0)
        {
            return null;
        }

        return AddRouteRequirements(new AuthorizationPolicyBuilder().RequireAuthenticatedUser(), options).Build();
    }

    private static AuthorizationPolicyBuilder AddRouteRequirements(AuthorizationPolicyBuilder builder, ApiRouteOptions options)
    {
        if (options.RequireScopes.Count > 0)
        {
            builder.RequireScope([.. options.RequireScopes]);
        }

        foreach (var (type, values) in options.RequireClaims)
        {
            builder.RequireClaimValue(type, [.. values]);
        }

        return builder;
    }
}

/// <summary>Turns one <see cref="AccessPolicyOptions"/> into requirements; the same for gateway routes and the app's named policies.</summary>
internal static class AccessPolicies
{
    public static AuthorizationPolicy Build(AccessPolicyOptions options) =>
        AddRequirements(new AuthorizationPolicyBuilder().RequirePortcullisSession(), options).Build();

    public static AuthorizationPolicyBuilder AddRequirements(AuthorizationPolicyBuilder builder, AccessPolicyOptions options)
    {
        if (options.RequireScopes.Count > 0)
        {
            builder.RequireScope([.. options.RequireScopes]);
        }

        foreach (var (type, values) in options.RequireClaims)
        {
            builder.RequireClaimValue(type, [.. values]);
        }

        if (options.EmailDomains.Count > 0)
        {
            builder.RequireVerifiedEmailDomain([.. options.EmailDomains]);
        }

        if (options.MaxAge is not null || options.Acr is not null)
        {
            builder.AddRequirements(new StepUpRequirement(options.MaxAge, options.Acr));
        }

        if (options.Discord is { } discord)
        {
            builder.AddRequirements(new DiscordGuildRequirement(discord.Provider, discord.Guild!, discord.Roles, discord.GuildName, discord.RoleName));
        }

        if (options.GitHub is { } gitHub)
        {
            builder.AddRequirements(new GitHubMembershipRequirement(gitHub.Provider, gitHub.Organization!, gitHub.Team));
        }

        return builder;
    }
}
