using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Portcullis.Http;

namespace Portcullis.Authorization;

/// <summary>Turns a failed authorization into the 403 <c>forbidden</c> answer with a reason a developer can act on.</summary>
internal static class AuthorizationErrors
{
    public const string DefaultReason = "You are signed in but lack what this resource requires.";

    public static PortcullisError Forbidden(string? reason) => new(403, "forbidden", reason ?? DefaultReason);

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

        var reasons = failure.FailureReasons.Select(r => r.Message).ToList();
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
    private static readonly object Key = new();

    /// <summary>Records why a requirement failed, when the authorization resource is the request (endpoint routing).</summary>
    public static void Add(AuthorizationHandlerContext context, string reason)
    {
        if (context.Resource is HttpContext httpContext)
        {
            var list = httpContext.Items.TryGetValue(Key, out var existing) && existing is List<string> reasons ? reasons : [];
            list.Add(reason);
            httpContext.Items[Key] = list;
        }
    }

    internal static string? Read(HttpContext httpContext) =>
        httpContext.Items.TryGetValue(Key, out var value) && value is List<string> { Count: > 0 } reasons ? string.Join(" ", reasons.Distinct(StringComparer.Ordinal)) : null;
}
