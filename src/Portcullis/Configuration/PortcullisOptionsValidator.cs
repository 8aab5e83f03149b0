using Microsoft.Extensions.Options;

namespace Portcullis.Configuration;

/// <summary>
/// Validates the whole <c>Portcullis</c> section and reports every problem at once, each naming its key,
/// so an operator fixes all mistakes in one go (SECURITY.md item 34). What depends on a provider's kind is checked by
/// the agent's presets, the key protection by the vault: the options framework runs every validator and reports their
/// failures together.
/// </summary>
internal sealed class PortcullisOptionsValidator : IValidateOptions<PortcullisOptions>
{
    private static readonly TimeSpan SessionCacheLimit = TimeSpan.FromMinutes(1);

    private const string Root = PortcullisOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, PortcullisOptions options)
    {
        var errors = new List<string>();
        ValidateOrigin(options, errors);
        ValidateProviders(options, errors);
        ValidateSession(options.Session, errors);
        SiblingHostsValidator.Validate(options, errors);
        ApiRoutesValidator.Validate(options, errors);
        AccessPoliciesValidator.Validate(options, errors);
        if (!options.BasePath.StartsWith('/') || options.BasePath.EndsWith('/') || options.BasePath.Length < 2)
        {
            errors.Add($"{Root}:BasePath must start with '/' and not end with '/' (got '{options.BasePath}').");
        }

        if (options.RateLimit.LoginPerMinute <= 0)
        {
            errors.Add($"{Root}:RateLimit:LoginPerMinute must be positive.");
        }

        if (options.RateLimit.BackchannelLogoutPerMinute <= 0)
        {
            errors.Add($"{Root}:RateLimit:BackchannelLogoutPerMinute must be positive.");
        }

        if (options.Refresh.Skew < TimeSpan.Zero)
        {
            errors.Add($"{Root}:Refresh:Skew must not be negative.");
        }

        RequirePositive($"{Root}:Refresh:Timeout", options.Refresh.Timeout, errors);
        RequirePositive($"{Root}:Refresh:LeaseDuration", options.Refresh.LeaseDuration, errors);
        if (options.Refresh.TokenRequestDeadline < options.Refresh.Timeout)
        {
            errors.Add($"{Root}:Refresh:TokenRequestDeadline must not be shorter than {Root}:Refresh:Timeout: a token request must outlive the wait of the requests that need it.");
        }
        RequirePositive($"{Root}:Revocation:Timeout", options.Revocation.Timeout, errors);
        RequirePositive($"{Root}:Revocation:RetryDelay", options.Revocation.RetryDelay, errors);
        RequirePositive($"{Root}:Revocation:GiveUpAfter", options.Revocation.GiveUpAfter, errors);
        RequirePositive($"{Root}:Audit:Retention", options.Audit.Retention, errors);
        if (options.Revocation.MaxRetryDelay < options.Revocation.RetryDelay)
        {
            errors.Add($"{Root}:Revocation:MaxRetryDelay must not be shorter than {Root}:Revocation:RetryDelay.");
        }

        if (!string.IsNullOrEmpty(options.Frontend.StaticRoot) && !Directory.Exists(options.Frontend.StaticRoot))
        {
            errors.Add($"{Root}:Frontend:StaticRoot: the folder '{options.Frontend.StaticRoot}' does not exist.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void RequirePositive(string key, TimeSpan value, List<string> errors)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be a positive duration such as 00:00:10 (got '{value}').");
        }
    }

    private static void ValidateOrigin(PortcullisOptions options, List<string> errors)
    {
        const string key = $"{Root}:PublicOrigin";
        if (string.IsNullOrWhiteSpace(options.PublicOrigin))
        {
            errors.Add($"{key} is required (the origin browsers use to reach the gateway, e.g. https://app.example.com).");
            return;
        }

        if (!Uri.TryCreate(options.PublicOrigin, UriKind.Absolute, out var uri) || uri.PathAndQuery != "/" || !string.IsNullOrEmpty(uri.Fragment))
        {
            errors.Add($"{key} must be an absolute origin without a path (got '{options.PublicOrigin}').");
            return;
        }

        CheckTransport(key, uri, errors);
    }

    private static void ValidateProviders(PortcullisOptions options, List<string> errors)
    {
        if (options.Providers.Count == 0)
        {
            errors.Add($"{Root}:Providers must configure at least one identity provider.");
        }

        foreach (var (name, provider) in options.Providers)
        {
            var key = $"{Root}:Providers:{name}";
            if (!IsSafeName(name))
            {
                errors.Add($"{key}: a provider name may contain only letters, digits, '-' and '_'.");
            }

            if (string.IsNullOrWhiteSpace(provider.ClientId))
            {
                errors.Add($"{key}:ClientId is required.");
            }

            if (provider.ClientAuthentication == ClientAuthenticationMethods.PrivateKeyJwt)
            {
                ValidateClientSigningKeys(key, provider, errors);
            }
            else if (string.IsNullOrWhiteSpace(provider.ClientSecret))
            {
                errors.Add($"{key}:ClientSecret is required (the gateway is a confidential client).");
            }

            if (provider.ClientAuthentication is not (ClientAuthenticationMethods.ClientSecretBasic or ClientAuthenticationMethods.ClientSecretPost or ClientAuthenticationMethods.PrivateKeyJwt))
            {
                errors.Add($"{key}:ClientAuthentication '{provider.ClientAuthentication}' is unknown; supported: client_secret_basic, client_secret_post, private_key_jwt.");
            }

            if (provider.PushedAuthorization == PushedAuthorizationMode.Require && provider.Kind != ProviderKinds.Oidc)
            {
                errors.Add($"{key}:PushedAuthorization 'Require' applies only to Kind 'oidc' (the presets' providers have no PAR endpoint).");
            }

            if (provider.DPoP == true && provider.Kind != ProviderKinds.Oidc)
            {
                errors.Add($"{key}:DPoP applies only to Kind 'oidc' (the presets' providers do not bind tokens to keys).");
            }

            Fapi2Profile.Validate(key, provider, errors);

            if (provider.ExchangeForLongLivedToken && provider.Kind != ProviderKinds.Facebook)
            {
                errors.Add($"{key}:ExchangeForLongLivedToken applies only to Kind 'facebook'.");
            }

            if (provider.PostLogoutRedirectUri is { } postLogout && !Uri.TryCreate(postLogout, UriKind.Absolute, out _))
            {
                errors.Add($"{key}:PostLogoutRedirectUri must be an absolute URL (got '{postLogout}').");
            }
        }
    }

    // Only presence here: whether the key can be read is the Agent floor's check (ClientSigningKeyValidator).
    private static void ValidateClientSigningKeys(string key, ProviderOptions provider, List<string> errors)
    {
        if (provider.Kind != ProviderKinds.Oidc)
        {
            errors.Add($"{key}:ClientAuthentication 'private_key_jwt' applies only to Kind 'oidc'.");
        }

        if (string.IsNullOrWhiteSpace(provider.ClientSigningKey))
        {
            errors.Add($"{key}:ClientSigningKey is required with ClientAuthentication 'private_key_jwt' (a PEM or JWK file, or the key itself).");
        }

        if (string.IsNullOrWhiteSpace(provider.ClientSigningKeyId))
        {
            errors.Add($"{key}:ClientSigningKeyId is required with ClientAuthentication 'private_key_jwt' (the kid the provider knows the key by).");
        }

        if (string.IsNullOrWhiteSpace(provider.NextClientSigningKey) != string.IsNullOrWhiteSpace(provider.NextClientSigningKeyId))
        {
            errors.Add($"{key}:NextClientSigningKey and {key}:NextClientSigningKeyId are set together or not at all.");
        }
        else if (provider.NextClientSigningKeyId is { Length: > 0 } next && next == provider.ClientSigningKeyId)
        {
            errors.Add($"{key}:NextClientSigningKeyId must differ from {key}:ClientSigningKeyId.");
        }
    }

    // Plain http leaks codes and tokens on the wire; allow it only where the wire never leaves the machine, or where
    // the operator has said in so many words that it is protected otherwise (a service mesh, a private link).
    internal static void CheckTransport(string key, Uri uri, List<string> errors, string? optInKey = null, bool optedIn = false)
    {
        if (uri.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback && !optedIn)
        {
            errors.Add(optInKey is null
                ? $"{key} must use https unless it is a loopback address (got '{uri}')."
                : $"{key} must use https unless it is a loopback address (got '{uri}'); set {optInKey} to true only if the connection is protected another way.");
        }
        else if (uri.Scheme is not ("http" or "https"))
        {
            errors.Add($"{key} must be an http(s) URL (got '{uri}').");
        }
    }

    private static void ValidateSession(SessionOptions session, List<string> errors)
    {
        if (session.IdleTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{Root}:Session:IdleTimeout must be positive.");
        }

        if (session.AbsoluteTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{Root}:Session:AbsoluteTimeout must be positive.");
        }

        if (session.CacheDuration < TimeSpan.Zero || session.CacheDuration > SessionCacheLimit)
        {
            errors.Add($"{Root}:Session:CacheDuration must be between 00:00:00 (off) and {SessionCacheLimit:c}: it bounds how long a session ended on another node may stay usable here if its announcement is lost.");
        }

        if (session.CacheSize < 1)
        {
            errors.Add($"{Root}:Session:CacheSize must be at least 1 (got {session.CacheSize}); set Session:CacheDuration to 00:00:00 to turn the session cache off.");
        }

        if (string.IsNullOrEmpty(session.CookieDomain))
        {
            if (!session.CookieName.StartsWith("__Host-", StringComparison.Ordinal))
            {
                errors.Add($"{Root}:Session:CookieName must keep the '__Host-' prefix, which pins the cookie to this origin.");
            }
        }
        else if (!session.CookieName.StartsWith("__Secure-", StringComparison.Ordinal))
        {
            errors.Add($"{Root}:Session:CookieName must start with '__Secure-' when {Root}:Session:CookieDomain is set: a '__Host-' cookie cannot have a Domain.");
        }

        // A name that is no HTTP token is never read back the way it was written: the cookie parser stops at the first
        // separator, and the gateway's own header scan would disagree with it (SingleCookie).
        if (!Primitives.SingleCookie.IsToken(session.CookieName))
        {
            errors.Add($"{Root}:Session:CookieName must be an HTTP token: letters, digits and !#$%&'*+-.^_`|~ only.");
        }

        var anomalies = session.Anomalies;
        foreach (var (name, reaction) in new[] { ("UserAgentChange", anomalies.UserAgentChange), ("ClientNetworkChange", anomalies.ClientNetworkChange) })
        {
            if (reaction is not (SessionAnomalyReactions.Log or SessionAnomalyReactions.Reauthenticate or SessionAnomalyReactions.End))
            {
                errors.Add($"{Root}:Session:Anomalies:{name} '{reaction}' is unknown; supported: log, reauthenticate, end.");
            }
        }

        if (anomalies.Ipv4PrefixLength is < 0 or > 32)
        {
            errors.Add($"{Root}:Session:Anomalies:Ipv4PrefixLength must be between 0 and 32.");
        }

        if (anomalies.Ipv6PrefixLength is < 0 or > 128)
        {
            errors.Add($"{Root}:Session:Anomalies:Ipv6PrefixLength must be between 0 and 128.");
        }
    }

    private static bool IsSafeName(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
