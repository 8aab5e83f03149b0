namespace Portcullis.Configuration;

/// <summary>
/// Checks a route's own audience (<c>Resource</c>, <c>Audience</c>, <c>TokenExchange</c>; issue 20 item 2, ADR 0043),
/// adding every problem to the list, each naming its key.
/// </summary>
internal static class RouteAudienceValidator
{
    private const string Root = PortcullisOptions.SectionName;

    public static bool HasAudience(ApiRouteOptions api) => api.Resource is not null || api.Audience is not null;

    public static void Validate(PortcullisOptions options, string key, ApiRouteOptions api, List<string> errors)
    {
        if (!HasAudience(api))
        {
            if (api.TokenExchange)
            {
                errors.Add($"{key}:TokenExchange needs {key}:Resource or {key}:Audience: the token is exchanged for one of those.");
            }

            return;
        }

        if (api.Resource is not null && api.Audience is not null)
        {
            errors.Add($"{key}: Resource and Audience name the same thing two ways; set one of them.");
        }

        // RFC 8707 §2: an absolute URI, without a fragment component.
        if (api.Resource is not null
            && (!Uri.TryCreate(api.Resource, UriKind.Absolute, out var resource) || !string.IsNullOrEmpty(resource.Fragment) || api.Resource.Contains('#')))
        {
            errors.Add($"{key}:Resource must be an absolute URI without fragment, like 'https://orders.example.com/' (RFC 8707; got '{api.Resource}').");
        }

        if (api.Audience is not null && string.IsNullOrWhiteSpace(api.Audience))
        {
            errors.Add($"{key}:Audience must not be empty.");
        }

        if (api.Token is not (ApiTokenModes.User or ApiTokenModes.UserOptional))
        {
            errors.Add($"{key}: Resource and Audience choose which user token the route sends and need Token 'user' or 'user-optional' (got '{api.Token}').");
        }

        // The stateless mode's cookies hold the whole grant and must stay under 4 KB: no room for a token per API.
        if (options.Session.Mode == SessionModes.Stateless)
        {
            errors.Add($"{key}: Resource and Audience are not available with {Root}:Session:Mode 'stateless' (the cookies cannot hold a token per API).");
        }

        var providerName = ProviderOf(options, api);
        if (providerName is null)
        {
            errors.Add($"{key}:Provider is required for a route with Resource or Audience when several providers are configured.");
        }
        else if (!options.Providers.TryGetValue(providerName, out var provider))
        {
            errors.Add($"{key}:Provider '{providerName}' is not configured under {Root}:Providers.");
        }
        else if (provider.Kind != ProviderKinds.Oidc)
        {
            errors.Add($"{key}:Provider '{providerName}' is of kind '{provider.Kind}', which issues no token per resource; Resource and Audience need an 'oidc' provider.");
        }
    }

    /// <summary>The provider a route with its own audience gets its token from: the one it names, else the only one.</summary>
    public static string? ProviderOf(PortcullisOptions options, ApiRouteOptions api) =>
        api.Provider ?? (options.Providers.Count == 1 ? options.Providers.Keys.First() : null);
}
