using Microsoft.AspNetCore.Authorization;
using Portcullis.Configuration;

namespace Portcullis.Authorization;

/// <summary>Compiles a route's <c>RequireScopes</c> / <c>RequireClaims</c> into an ASP.NET Core <see cref="AuthorizationPolicy"/> once, at start.</summary>
internal static class ApiRoutePolicies
{
    public static AuthorizationPolicy? Build(ApiRouteOptions options)
    {
        if (options.RequireScopes.Count == 0 && options.RequireClaims.Count == 0)
        {
            return null;
        }

        var builder = new AuthorizationPolicyBuilder().RequirePortcullisSession();
        if (options.RequireScopes.Count > 0)
        {
            builder.RequireScope([.. options.RequireScopes]);
        }

        foreach (var (type, values) in options.RequireClaims)
        {
            builder.RequireClaimValue(type, [.. values]);
        }

        return builder.Build();
    }
}
