namespace Portcullis.Configuration;

/// <summary>
/// Which API a route's token is minted for (issue 20 item 2, ADR 0043): an RFC 8707 <c>resource</c> or an
/// <c>audience</c>, at one provider, obtained by a refresh naming it or by RFC 8693 token exchange.
/// </summary>
/// <param name="Parameter"><c>resource</c> or <c>audience</c>: the request parameter that names it.</param>
/// <param name="Value">The resource indicator or audience.</param>
/// <param name="Provider">The provider the user must have signed in with.</param>
/// <param name="Exchange">Whether the token comes by token exchange rather than by a refresh.</param>
internal sealed record TokenAudience(string Parameter, string Value, string Provider, bool Exchange)
{
    public const string ResourceParameter = "resource";
    public const string AudienceParameter = "audience";

    /// <summary>Where the grant keeps this audience's token: the parameter and the value, so a resource and an audience
    /// spelled alike never share a token.</summary>
    public string Key { get; } = Parameter + " " + Value;

    /// <summary>The route's audience, or null when it sends the sign-in's own token.</summary>
    public static TokenAudience? Of(ApiRouteOptions route, PortcullisOptions root)
    {
        if (!RouteAudienceValidator.HasAudience(route))
        {
            return null;
        }

        var provider = RouteAudienceValidator.ProviderOf(root, route)!;
        return route.Resource is { } resource
            ? new TokenAudience(ResourceParameter, resource, provider, route.TokenExchange)
            : new TokenAudience(AudienceParameter, route.Audience!, provider, route.TokenExchange);
    }

    /// <summary>The resource indicators a sign-in at <paramref name="provider"/> names: every route resource of that provider.</summary>
    public static IReadOnlyList<string> SignInResources(PortcullisOptions options, string provider) =>
        options.Apis.Values
            .Where(route => route.Resource is not null && !route.TokenExchange && RouteAudienceValidator.ProviderOf(options, route) == provider)
            .Select(route => route.Resource!)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToArray();
}
