using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Portcullis.Demo.Api;

internal static class WhoAmIEndpoint
{
    internal sealed record WhoAmI(string? Subject, string? Name, IReadOnlyList<string> Scopes, DateTimeOffset CalledAt);

    public static void MapWhoAmI(this IEndpointRouteBuilder app) =>
        app.MapGet($"{DemoDefaults.ApiPath}/whoami", (ClaimsPrincipal user, TimeProvider time) => new WhoAmI(
                user.FindFirst("sub")?.Value,
                user.FindFirst("name")?.Value,
                ReadScopes(user),
                time.GetUtcNow()))
            .RequireAuthorization();

    // RFC 9068, section 2.2.3: "scope" is one space-separated string; some issuers write one claim per scope.
    private static string[] ReadScopes(ClaimsPrincipal user) =>
        [.. user.FindAll("scope").SelectMany(claim => claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Distinct(StringComparer.Ordinal)];
}
