using System.Collections.Frozen;
using Duende.IdentityModel.Client;
using Portcullis.Configuration;
using Portcullis.Primitives;

namespace Portcullis.Agent.Presets;

/// <summary>
/// What one kind of provider needs beyond configuration: its public endpoints, default scopes and parameters, where the
/// user comes from (an ID token for OpenID Connect, a user endpoint for plain OAuth 2.0), how its token endpoint
/// reports a dead grant, and how it forgets a user's tokens at logout (ADR 0009).
/// </summary>
internal abstract class ProviderPreset
{
    protected static readonly IReadOnlyDictionary<string, string> NoParameters = FrozenDictionary<string, string>.Empty;

    /// <summary>The <c>Kind</c> value in configuration.</summary>
    public abstract string Kind { get; }

    /// <summary>OpenID Connect presets sign users in with a validated ID token and discover their endpoints.</summary>
    public virtual bool IsOpenIdConnect => false;

    public abstract IReadOnlyList<string> DefaultScopes { get; }

    /// <summary>The name on the login button when configuration gives none; null to use the provider's configuration name.</summary>
    public virtual string? DefaultDisplayName => null;

    public virtual string DefaultClientAuthentication => ClientAuthenticationMethods.ClientSecretBasic;

    /// <summary>The issuer used when <c>Authority</c> is not configured (OpenID Connect presets).</summary>
    public virtual string? DefaultAuthority => null;

    /// <summary>Parameters every authorization request carries unless configuration sets them otherwise.</summary>
    public virtual IReadOnlyDictionary<string, string> DefaultAuthorizationParameters => NoParameters;

    /// <summary>
    /// The strongest request for a fresh sign-in the provider offers, sent when a login links a new identity to the
    /// signed-in user: whoever sits at the browser must prove they own the account now, not ride on a provider session
    /// another tab (or another site) left behind. OpenID Connect presets also send <c>max_age=0</c> and check the ID
    /// token's <c>auth_time</c>.
    /// </summary>
    public virtual IReadOnlyDictionary<string, string> ReauthenticationParameters => NoParameters;

    /// <summary>Issuer spellings an ID token may carry besides the discovered <c>issuer</c>.</summary>
    public virtual IReadOnlyList<string> AlternateIssuers => [];

    /// <summary>Plain OAuth 2.0 presets: the endpoints, configuration over the provider's public ones.</summary>
    public virtual OAuthEndpoints? ResolveEndpoints(ProviderEndpointOptions configured) => null;

    /// <summary>Plain OAuth 2.0 presets: who the access token belongs to, with claims under their usual names.</summary>
    public virtual Task<Outcome<ProviderUser>> LoadUserAsync(HttpClient http, ProviderRuntime provider, string accessToken, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{Kind} signs users in with an ID token.");

    /// <summary>Runs after the code was redeemed (Facebook's long-lived token exchange); the default keeps the tokens.</summary>
    public virtual Task<TokenResponse> AfterCodeRedemptionAsync(HttpClient http, ProviderRuntime provider, TokenResponse response, CancellationToken cancellationToken) =>
        Task.FromResult(response);

    /// <summary>Whether a token-endpoint answer says the refresh token is dead, so the session must end (SECURITY.md item 26).</summary>
    public virtual bool IsInvalidGrant(TokenResponse response) =>
        response.ErrorType is ResponseErrorType.Protocol or ResponseErrorType.None && response.Error == "invalid_grant";

    /// <summary>True when the provider revokes one token at an RFC 7009 endpoint; otherwise <see cref="RevokeAuthorizationAsync"/> is used.</summary>
    public virtual bool UsesTokenRevocation => true;

    /// <summary>
    /// Whether the refresh token a new sign-in superseded may be revoked without touching the grant the new tokens
    /// belong to (ADR 0020). Many providers keep one grant per user and client, and revoking any of its refresh tokens
    /// withdraws all of them, the new ones included (oidc-provider within a provider session; Google, GitHub and
    /// Facebook withdraw the app's whole access for the user). The default is never: the superseded token is only
    /// forgotten, and expires at the provider on its own.
    /// </summary>
    public virtual bool MayRevokeSupersededRefreshToken(string? supersededIdToken, string? currentIdToken) => false;

    /// <summary>
    /// <see cref="MayRevokeSupersededRefreshToken"/> when the current grant's ID token cannot be read (split-key: it is
    /// sealed under another session's key, ADR 0032) and only its session's provider session id (<c>sid</c>) is known.
    /// </summary>
    public virtual bool MayRevokeBesideProviderSession(string? supersededIdToken, string? currentProviderSessionId) => false;

    /// <summary>Providers without RFC 7009: withdraws the whole authorization the access token belongs to.</summary>
    public virtual Task<AuthorizationRevocation> RevokeAuthorizationAsync(HttpClient http, ProviderRuntime provider, string accessToken, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{Kind} revokes tokens at an RFC 7009 endpoint.");
}

/// <summary>Endpoints of a plain OAuth 2.0 provider, resolved at start.</summary>
internal sealed record OAuthEndpoints(string Authorization, string Token, string? Revocation, string Api);

/// <summary>The user a plain OAuth 2.0 provider's user endpoint describes: a stable subject and mapped claims.</summary>
internal sealed record ProviderUser(string Subject, Dictionary<string, System.Text.Json.JsonElement> Claims);

/// <summary>Outcome of a revocation call: whether the provider confirmed it, and its error code when not.</summary>
internal sealed record AuthorizationRevocation(bool Succeeded, string? Error = null);

/// <summary>The presets by <c>Kind</c>.</summary>
internal static class ProviderPresets
{
    private static readonly FrozenDictionary<string, ProviderPreset> ByKind = new ProviderPreset[]
    {
        new OidcPreset(), new GooglePreset(), new GitHubPreset(), new DiscordPreset(), new FacebookPreset(),
    }.ToFrozenDictionary(p => p.Kind, StringComparer.Ordinal);

    public static ProviderPreset? Find(string? kind) => kind is null ? null : ByKind.GetValueOrDefault(kind);

    public static ProviderPreset For(ProviderOptions options) =>
        Find(options.Kind) ?? throw new InvalidOperationException($"Unknown provider kind '{options.Kind}'.");
}

/// <summary>Plain discovery-based OpenID Connect: everything comes from the provider's metadata.</summary>
internal sealed class OidcPreset : ProviderPreset
{
    public override string Kind => ProviderKinds.Oidc;

    // OpenID Connect Core §3.1.2.1: prompt=login asks the provider to re-authenticate the user.
    public override IReadOnlyDictionary<string, string> ReauthenticationParameters { get; } =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["prompt"] = "login" }.ToFrozenDictionary();

    public override bool IsOpenIdConnect => true;

    public override IReadOnlyList<string> DefaultScopes { get; } = ["openid", "profile", "email", "offline_access"];

    /// <summary>
    /// Only when both sign-ins name their provider session (<c>sid</c>, OpenID Connect Front/Back-Channel Logout) and the
    /// sessions differ: providers that reuse a grant do so within one provider session (oidc-provider, Keycloak's user
    /// sessions), so a different session means a different grant. Without both <c>sid</c>s nothing proves it.
    /// </summary>
    public override bool MayRevokeSupersededRefreshToken(string? supersededIdToken, string? currentIdToken) =>
        ProviderSessionId(supersededIdToken) is { } superseded
        && ProviderSessionId(currentIdToken) is { } current
        && !string.Equals(superseded, current, StringComparison.Ordinal);

    public override bool MayRevokeBesideProviderSession(string? supersededIdToken, string? currentProviderSessionId) =>
        ProviderSessionId(supersededIdToken) is { } superseded
        && !string.IsNullOrEmpty(currentProviderSessionId)
        && !string.Equals(superseded, currentProviderSessionId, StringComparison.Ordinal);

    /// <summary>The <c>sid</c> of an ID token the agent validated at sign-in; null when absent or unreadable.</summary>
    private static string? ProviderSessionId(string? idToken)
    {
        if (string.IsNullOrEmpty(idToken))
        {
            return null;
        }

        try
        {
            return new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(idToken).TryGetPayloadValue<string>("sid", out var sid) && !string.IsNullOrEmpty(sid) ? sid : null;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}

/// <summary>
/// Google: OpenID Connect with discovery. A refresh token is only issued with <c>access_type=offline</c>, and only on
/// consent, so <c>prompt=consent</c> is sent too; Google rejects the <c>offline_access</c> scope. Its ID tokens may
/// name the issuer without the scheme (Google Identity docs, "Validating an ID token").
/// </summary>
internal sealed class GooglePreset : ProviderPreset
{
    public override string Kind => ProviderKinds.Google;

    public override string DefaultDisplayName => "Google";

    public override bool IsOpenIdConnect => true;

    public override IReadOnlyList<string> DefaultScopes { get; } = ["openid", "profile", "email"];

    public override string? DefaultAuthority => "https://accounts.google.com";

    public override IReadOnlyDictionary<string, string> DefaultAuthorizationParameters { get; } =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["access_type"] = "offline", ["prompt"] = "consent" }.ToFrozenDictionary();

    public override IReadOnlyList<string> AlternateIssuers { get; } = ["accounts.google.com"];

    // Google ignores prompt=login; max_age=0 (sent for every OpenID Connect preset) makes it ask for the password, and
    // select_account stops a second Google account already signed in from being taken silently.
    public override IReadOnlyDictionary<string, string> ReauthenticationParameters { get; } =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["prompt"] = "consent select_account" }.ToFrozenDictionary();
}
