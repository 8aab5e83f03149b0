using System.Net;

namespace Portcullis.Configuration;

/// <summary>
/// Checks the proxy's part of the configuration (<c>Apis</c>, <c>TrustedProxies</c>, <c>Csrf:AllowedOrigins</c>), adding
/// every problem to the list without stopping at the first, each naming its key.
/// </summary>
internal static class ApiRoutesValidator
{
    private const string Root = PortcullisOptions.SectionName;

    public static void Validate(PortcullisOptions options, List<string> errors)
    {
        var paths = new List<(string Path, string Name)>();
        foreach (var (name, api) in options.Apis)
        {
            var key = $"{Root}:Apis:{name}";
            if (ValidatePath(options, key, api, errors))
            {
                paths.Add((api.Path!, name));
            }

            ValidateUpstream(key, api, errors);
            ValidateTokenMode(options, key, api, errors);
            RouteAudienceValidator.Validate(options, key, api, errors);
            ValidateLimits(key, api, errors);
        }

        ValidateOverlaps(paths, errors);
        ValidateTrustedProxies(options.TrustedProxies, errors);
        ValidateForwardAuth(options, errors);
        ValidateAllowedOrigins(options.Csrf, errors);
    }

    private static bool ValidatePath(PortcullisOptions options, string key, ApiRouteOptions api, List<string> errors)
    {
        if (!IsPlainPath(api.Path))
        {
            errors.Add($"{key}:Path must be a plain path prefix like '/api/orders' (got '{api.Path}').");
            return false;
        }

        if (IsUnder(api.Path, options.BasePath) || IsUnder(options.BasePath, api.Path) || IsUnder("/healthz", api.Path))
        {
            errors.Add($"{key}:Path '{api.Path}' overlaps the gateway's own endpoints ('{options.BasePath}', '/healthz').");
            return false;
        }

        return true;
    }

    private static void ValidateUpstream(string key, ApiRouteOptions api, List<string> errors)
    {
        if (!Uri.TryCreate(api.Upstream, UriKind.Absolute, out var upstream) || upstream.Scheme is not ("http" or "https")
            || !string.IsNullOrEmpty(upstream.Query) || !string.IsNullOrEmpty(upstream.Fragment) || !string.IsNullOrEmpty(upstream.UserInfo))
        {
            errors.Add($"{key}:Upstream must be an absolute http(s) URL without query or user info (got '{api.Upstream}').");
            return;
        }

        // The bearer token travels to the upstream: over cleartext anyone on the path could replay it.
        PortcullisOptionsValidator.CheckTransport($"{key}:Upstream", upstream, errors, $"{key}:AllowInsecureTransport", api.AllowInsecureTransport);
    }

    private static void ValidateTokenMode(PortcullisOptions options, string key, ApiRouteOptions api, List<string> errors)
    {
        if (api.Token is not (ApiTokenModes.User or ApiTokenModes.UserOptional or ApiTokenModes.Client or ApiTokenModes.None or ApiTokenModes.Assertion))
        {
            errors.Add($"{key}:Token '{api.Token}' is unknown; supported: user, user-optional, client, none, assertion.");
            return;
        }

        if ((api.RequireScopes.Count > 0 || api.RequireClaims.Count > 0) && api.Token is not (ApiTokenModes.User or ApiTokenModes.Assertion))
        {
            errors.Add($"{key}: RequireScopes and RequireClaims are about the signed-in user and need Token 'user' or 'assertion' (got '{api.Token}').");
        }

        ValidateAssertion(options, key, api, errors);
        ValidateBearer(options, key, api, errors);

        if (api.RequireScopes.Any(string.IsNullOrWhiteSpace) || api.RequireClaims.Keys.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add($"{key}: RequireScopes and RequireClaims must not contain empty names.");
        }

        if (api.Token != ApiTokenModes.Client)
        {
            // A route with its own audience names the provider its token comes from (RouteAudienceValidator checks it); an
            // AcceptBearer route names the provider whose tokens callers may present.
            if ((api.Provider is not null && !api.AcceptBearer && !RouteAudienceValidator.HasAudience(api)) || api.ClientScopes.Count > 0)
            {
                errors.Add($"{key}: Provider and ClientScopes apply only to Token 'client' (got '{api.Token}'); Provider also to routes with AcceptBearer, Resource or Audience.");
            }

            return;
        }

        var providerName = api.Provider ?? (options.Providers.Count == 1 ? options.Providers.Keys.First() : null);
        if (providerName is null)
        {
            errors.Add($"{key}:Provider is required for Token 'client' when several providers are configured.");
        }
        else if (!options.Providers.TryGetValue(providerName, out var provider))
        {
            errors.Add($"{key}:Provider '{providerName}' is not configured under {Root}:Providers.");
        }
        else if (!ProviderCapabilities.SupportsClientCredentials(provider))
        {
            errors.Add($"{key}:Provider '{providerName}' cannot issue client-credentials tokens (kind '{provider.Kind}'; supported: oidc, discord, facebook, with ClientId and ClientSecret).");
        }
    }

    private static void ValidateAssertion(PortcullisOptions options, string key, ApiRouteOptions api, List<string> errors)
    {
        if (api.Token != ApiTokenModes.Assertion)
        {
            if (api.AssertionClaims.Count > 0 || api.AssertionHeader != ApiRouteDefaults.AssertionHeader)
            {
                errors.Add($"{key}: AssertionHeader and AssertionClaims apply only to Token 'assertion' (got '{api.Token}').");
            }

            return;
        }

        // The header is the assertion's alone: never one the proxy strips, rewrites or that carries other credentials.
        var header = api.AssertionHeader;
        if (string.IsNullOrWhiteSpace(header) || !header.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')
            || header.ToLowerInvariant() is "authorization" or "cookie" or "host" or "dpop" or "proxy-authorization"
                // Connection-level and forwarding headers: an assertion under one of these names could break or smuggle framing.
                or "connection" or "keep-alive" or "proxy-connection" or "transfer-encoding" or "te" or "trailer" or "upgrade"
                or "expect" or "forwarded" or "via"
            || header.StartsWith("content-", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{key}:AssertionHeader '{header}' must be a header name of letters, digits and '-' that no credential, framing or forwarding uses (not Authorization, Cookie, Host, DPoP, Connection, Transfer-Encoding, TE, Trailer, Upgrade, Keep-Alive, Expect, Forwarded, Via or Content-*).");
        }

        if (api.AssertionClaims.Any(c => string.IsNullOrWhiteSpace(c) || c is "iss" or "aud" or "exp" or "iat" or "nbf" or "jti" or "sub" or "idp"))
        {
            errors.Add($"{key}:AssertionClaims must name the user's claims; empty names and the assertion's own (iss, aud, exp, iat, nbf, jti, sub, idp) are refused.");
        }

        if (string.IsNullOrWhiteSpace(options.Assertions.SigningKey) || string.IsNullOrWhiteSpace(options.Assertions.SigningKeyId))
        {
            errors.Add($"{key}:Token 'assertion' needs {Root}:Assertions:SigningKey and {Root}:Assertions:SigningKeyId (the gateway's signing key and its kid).");
        }
    }

    /// <summary>
    /// Bearer pass-through (issue 20 item 4, ADR 0042): only where a user's token goes anyway, from a provider that can
    /// vouch for a token (discovery: issuer, keys, introspection), for audiences that are not the gateway's own.
    /// </summary>
    private static void ValidateBearer(PortcullisOptions options, string key, ApiRouteOptions api, List<string> errors)
    {
        if (!api.AcceptBearer)
        {
            if (api.BearerAudiences.Count > 0)
            {
                errors.Add($"{key}:BearerAudiences applies only with {key}:AcceptBearer true.");
            }

            if (api.BearerAcceptTokensWithoutAudience)
            {
                errors.Add($"{key}:BearerAcceptTokensWithoutAudience applies only with {key}:AcceptBearer true.");
            }

            return;
        }

        if (api.Token is not (ApiTokenModes.User or ApiTokenModes.UserOptional))
        {
            errors.Add($"{key}:AcceptBearer needs Token 'user' or 'user-optional' (got '{api.Token}'): a caller's token replaces the user's token, nothing else.");
        }

        if (api.Policy is not null)
        {
            // Memberships, e-mail domains and step-up are judged on the session's grant and ID token, which a bearer lacks.
            errors.Add($"{key}:Policy cannot be combined with {key}:AcceptBearer: a named policy is judged on a session; use RequireScopes and RequireClaims, which apply to the caller's token.");
        }

        var providerName = api.Provider ?? (options.Providers.Count == 1 ? options.Providers.Keys.First() : null);
        ProviderOptions? provider = null;
        if (providerName is null)
        {
            errors.Add($"{key}:Provider is required with AcceptBearer when several providers are configured: it names whose tokens callers may present.");
        }
        else if (!options.Providers.TryGetValue(providerName, out provider))
        {
            errors.Add($"{key}:Provider '{providerName}' is not configured under {Root}:Providers.");
        }
        else if (provider.Kind is not (ProviderKinds.Oidc or ProviderKinds.Google))
        {
            errors.Add($"{key}:AcceptBearer needs an OpenID Connect provider (issuer, signing keys, introspection); '{providerName}' is of kind '{provider.Kind}'.");
        }

        if (api.BearerAudiences.Count == 0 || api.BearerAudiences.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add($"{key}:BearerAudiences is required with AcceptBearer: the audiences (aud) a caller's access token must name, none empty.");
        }
        else if (provider?.ClientId is { } clientId && api.BearerAudiences.Contains(clientId, StringComparer.Ordinal))
        {
            // The gateway's client id is the audience of its ID tokens: accepting it would let an ID token pass for an access token.
            errors.Add($"{key}:BearerAudiences must not contain the gateway's own client id '{clientId}' (the audience of its ID tokens).");
        }
    }

    private static void ValidateLimits(string key, ApiRouteOptions api, List<string> errors)
    {
        if (api.MaxRequestBodySize <= 0)
        {
            errors.Add($"{key}:MaxRequestBodySize must be positive.");
        }

        if (api.MaxResponseBodySize is <= 0)
        {
            errors.Add($"{key}:MaxResponseBodySize must be positive when set.");
        }

        if (api.RetryBodyLimit < 0 || api.RetryBodyLimit > 16 * 1024 * 1024)
        {
            errors.Add($"{key}:RetryBodyLimit must be between 0 and 16 MiB (it is held in memory per request).");
        }

        if (api.Timeout <= TimeSpan.Zero)
        {
            errors.Add($"{key}:Timeout must be positive.");
        }
    }

    /// <summary>
    /// Two routes where one path is a prefix of the other would let the longer route's settings (token mode, requirements)
    /// silently shadow the shorter one's for part of its space; that is refused rather than guessed at.
    /// </summary>
    private static void ValidateOverlaps(List<(string Path, string Name)> paths, List<string> errors)
    {
        for (var i = 0; i < paths.Count; i++)
        {
            for (var j = i + 1; j < paths.Count; j++)
            {
                var (a, b) = (paths[i], paths[j]);
                if (a.Path.Equals(b.Path, StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add($"{Root}:Apis:{b.Name}:Path '{b.Path}' is already used by {Root}:Apis:{a.Name}.");
                }
                else if (IsUnder(a.Path, b.Path) || IsUnder(b.Path, a.Path))
                {
                    errors.Add($"{Root}:Apis:{b.Name}:Path '{b.Path}' overlaps {Root}:Apis:{a.Name}:Path '{a.Path}'; route paths must not contain one another.");
                }
            }
        }
    }

    private static void ValidateTrustedProxies(List<string> proxies, List<string> errors)
    {
        for (var i = 0; i < proxies.Count; i++)
        {
            if (!TrustedProxyList.TryParse(proxies[i], out _))
            {
                errors.Add($"{Root}:TrustedProxies:{i} must be an IP address or a CIDR network like 10.0.0.0/8 (got '{proxies[i]}').");
            }
        }
    }

    private static void ValidateForwardAuth(PortcullisOptions options, List<string> errors)
    {
        var forwardAuth = options.ForwardAuth;
        if (!forwardAuth.Enabled)
        {
            return;
        }

        // Its answer carries the user's token: only a proxy may read it, never the browser that sent the cookie.
        if (options.TrustedProxies.Count == 0)
        {
            errors.Add($"{Root}:ForwardAuth:Enabled needs {Root}:TrustedProxies: the endpoint answers only the front proxies listed there.");
        }

        if (forwardAuth.Port is not (> 0 and <= 65535))
        {
            errors.Add($"{Root}:ForwardAuth:Port is required with {Root}:ForwardAuth:Enabled (got '{forwardAuth.Port?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing"}'): "
                + "a port of the gateway that only the front proxy's auth call reaches. The browser's own requests through the proxy come from a trusted address too.");
        }

        if (!IsPlainPath(forwardAuth.Path))
        {
            errors.Add($"{Root}:ForwardAuth:Path must be a plain path like '/forward-auth', below BasePath (got '{forwardAuth.Path}').");
        }
    }

    /// <summary>Literal segments only: no pattern, encoding, dot segment, empty segment or trailing slash.</summary>
    private static bool IsPlainPath([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? path) =>
        !string.IsNullOrWhiteSpace(path) && path.StartsWith('/') && path.Length >= 2 && !path.EndsWith('/')
        && !path.Contains("..", StringComparison.Ordinal) && !path.Contains("//", StringComparison.Ordinal)
        && !path.Any(c => c is '%' or '?' or '#' or '{' or '}' or '*' or '\\' || char.IsWhiteSpace(c) || char.IsControl(c));

    private static void ValidateAllowedOrigins(CsrfOptions csrf, List<string> errors)
    {
        var origins = csrf.AllowedOrigins;
        for (var i = 0; i < origins.Count; i++)
        {
            if (!Uri.TryCreate(origins[i], UriKind.Absolute, out var origin) || origin.Scheme is not ("http" or "https")
                || origin.PathAndQuery != "/" || !string.IsNullOrEmpty(origin.Fragment) || !string.IsNullOrEmpty(origin.UserInfo)
                || origins[i].Contains('*'))
            {
                errors.Add($"{Root}:Csrf:AllowedOrigins:{i} must be an origin like https://app.example.com, without path or wildcard (got '{origins[i]}').");
                continue;
            }

            // A page served over http can be rewritten on the wire, and then it calls the gateway with the user's cookies.
            PortcullisOptionsValidator.CheckTransport($"{Root}:Csrf:AllowedOrigins:{i}", origin, errors, $"{Root}:Csrf:AllowInsecureTransport", csrf.AllowInsecureTransport);
        }
    }

    private static bool IsUnder(string path, string prefix) =>
        path.Equals(prefix, StringComparison.OrdinalIgnoreCase) || path.StartsWith(prefix + "/", StringComparison.OrdinalIgnoreCase);
}

/// <summary>What each provider kind can do, as far as the proxy needs to know at start.</summary>
internal static class ProviderCapabilities
{
    /// <summary>
    /// The client-credentials grant needs a confidential client and a kind whose providers offer the grant to an app:
    /// OpenID Connect providers generally do, as do Discord and Facebook (app access tokens); GitHub and Google do not.
    /// </summary>
    public static bool SupportsClientCredentials(ProviderOptions provider) =>
        provider.Kind is ProviderKinds.Oidc or ProviderKinds.Discord or ProviderKinds.Facebook
        && (!string.IsNullOrWhiteSpace(provider.ClientSecret) || provider.ClientAuthentication == ClientAuthenticationMethods.PrivateKeyJwt)
        && !string.IsNullOrWhiteSpace(provider.ClientId);
}

/// <summary>Parses <c>TrustedProxies</c> entries: single addresses or CIDR networks.</summary>
internal static class TrustedProxyList
{
    public static bool TryParse(string? value, out IPNetwork network)
    {
        network = default;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        if (IPAddress.TryParse(value, out var address) && !value.Contains('/'))
        {
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return IPNetwork.TryParse(value, out network);
    }
}
