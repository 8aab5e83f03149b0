using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;

namespace Portcullis.Demo.Provider;

internal static class ServerResults
{
    // Lets OpenIddict write the protocol error in the form the endpoint needs (redirect for the
    // authorization endpoint, JSON for the token endpoint).
    public static IResult Reject(string error, string description) => Results.Forbid(
        new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
            [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
        }),
        [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);

    public static async Task<List<string>> ResourcesForAsync(
        this IOpenIddictScopeManager scopes, IEnumerable<string> names, CancellationToken ct)
    {
        var resources = new List<string>();
        await foreach (var resource in scopes.ListResourcesAsync([.. names], ct))
        {
            resources.Add(resource);
        }

        return resources;
    }
}
