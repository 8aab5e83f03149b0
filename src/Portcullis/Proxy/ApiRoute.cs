using Microsoft.AspNetCore.Authorization;
using Portcullis.Authorization;
using Portcullis.Configuration;
using Portcullis.Tokens;
using Yarp.ReverseProxy.Forwarder;

namespace Portcullis.Proxy;

/// <summary>A configured API route, resolved from the options in force (again after a reload); also the endpoint metadata that marks proxied requests.</summary>
internal sealed record ApiRoute(string Name, string PathPrefix, string Upstream, string TokenMode)
{
    /// <summary>The route's scope and claim requirements as an ASP.NET Core policy; null when it has none.</summary>
    public AuthorizationPolicy? Policy { get; init; }

    /// <summary>For <c>client</c> routes: which of the gateway's own tokens to attach.</summary>
    public ClientTokenKey? ClientToken { get; init; }

    /// <summary>For <c>user</c> routes with <c>Resource</c> or <c>Audience</c>: the API the route's own token is minted for (ADR 0043).</summary>
    public TokenAudience? Audience { get; init; }

    public bool WebSockets { get; init; }

    public long MaxRequestBodySize { get; init; } = ApiRouteDefaults.MaxRequestBodySize;

    public long? MaxResponseBodySize { get; init; }

    public int RetryBodyLimit { get; init; } = ApiRouteDefaults.RetryBodyLimit;

    public ForwarderRequestConfig RequestConfig { get; init; } = new() { ActivityTimeout = ApiRouteDefaults.Timeout };

    public bool PassResponseCookies { get; init; }

    /// <summary>Added to every answer; empty for none.</summary>
    public string ResponseContentSecurityPolicy { get; init; } = ApiRouteDefaults.ResponseContentSecurityPolicy;

    /// <summary>For <c>assertion</c> routes: the header that carries the assertion.</summary>
    public string AssertionHeader { get; init; } = ApiRouteDefaults.AssertionHeader;

    /// <summary>For <c>assertion</c> routes: the user's claims copied into the assertion.</summary>
    public IReadOnlyList<string> AssertionClaims { get; init; } = [];

    /// <summary>Bearer pass-through (ADR 0042): whose tokens a caller without the session cookie may present, and for which audiences; null when off.</summary>
    public BearerAcceptance? Bearer { get; init; }

    public static ApiRoute From(string name, ApiRouteOptions options, PortcullisOptions root) =>
        new(name, options.Path!, options.Upstream!.TrimEnd('/'), options.Token)
        {
            Policy = ApiRoutePolicies.Build(options, root),
            ClientToken = options.Token == ApiTokenModes.Client
                ? new ClientTokenKey(options.Provider ?? root.Providers.Keys.Single(), string.Join(' ', options.ClientScopes))
                : null,
            Audience = TokenAudience.Of(options, root),
            WebSockets = options.WebSockets,
            MaxRequestBodySize = options.MaxRequestBodySize,
            MaxResponseBodySize = options.MaxResponseBodySize,
            RetryBodyLimit = options.RetryBodyLimit,
            RequestConfig = new ForwarderRequestConfig { ActivityTimeout = options.Timeout },
            PassResponseCookies = options.PassResponseCookies,
            ResponseContentSecurityPolicy = options.ResponseContentSecurityPolicy,
            AssertionHeader = options.AssertionHeader,
            AssertionClaims = [.. options.AssertionClaims],
            Bearer = options.AcceptBearer
                ? new BearerAcceptance(options.Provider ?? root.Providers.Keys.Single(), [.. options.BearerAudiences], ApiRoutePolicies.BuildForBearer(options))
                {
                    AcceptWithoutAudience = options.BearerAcceptTokensWithoutAudience,
                }
                : null,
        };
}

/// <summary>
/// What a route accepts from a caller that presents its own token: tokens of <paramref name="Provider"/> naming one of
/// <paramref name="Audiences"/>, whose claims meet <paramref name="Requirements"/> (the route's <c>RequireScopes</c> and
/// <c>RequireClaims</c>; null when it has none).
/// </summary>
internal sealed record BearerAcceptance(string Provider, IReadOnlyList<string> Audiences, AuthorizationPolicy? Requirements)
{
    /// <summary>Whether an opaque token whose introspection states no <c>aud</c> passes (<c>BearerAcceptTokensWithoutAudience</c>).</summary>
    public bool AcceptWithoutAudience { get; init; }
}
