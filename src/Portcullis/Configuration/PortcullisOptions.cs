namespace Portcullis.Configuration;

/// <summary>
/// The <c>Portcullis</c> configuration section: everything the token handler needs to run.
/// Defaults are safe as declared; <see cref="PortcullisOptionsValidator"/> stops start-up when a value is wrong.
/// </summary>
public sealed class PortcullisOptions
{
    /// <summary>The configuration section the gateway binds. The default value is <c>Portcullis</c>.</summary>
    public const string SectionName = "Portcullis";

    /// <summary>
    /// The origin the browser uses to reach the gateway, e.g. <c>https://app.example.com</c>.
    /// Redirect URIs are derived from it, never from the request's Host header.
    /// </summary>
    public string? PublicOrigin { get; set; }

    /// <summary>Path prefix of the gateway's own endpoints. The default value is <c>/bff</c>.</summary>
    public string BasePath { get; set; } = "/bff";

    /// <summary>The identity providers users can sign in with, by name.</summary>
    public Dictionary<string, ProviderOptions> Providers { get; set; } = new(StringComparer.Ordinal);

    public StoreOptions Store { get; set; } = new();

    public SessionOptions Session { get; set; } = new();

    public RefreshOptions Refresh { get; set; } = new();

    public TokensOptions Tokens { get; set; } = new();

    public CsrfOptions Csrf { get; set; } = new();

    /// <summary>Upstream APIs reached through the gateway, by route name.</summary>
    public Dictionary<string, ApiRouteOptions> Apis { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Named access policies (docs/providers.md, "Access policies"): API routes name one with <c>Policy</c>, and an app's
    /// own endpoints use the same name with <c>[Authorize(Policy = "name")]</c> or <c>RequireAuthorization("name")</c>.
    /// </summary>
    public Dictionary<string, AccessPolicyOptions> Policies { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How long a membership answer from a provider (Discord guild roles, GitHub organization or team) is reused before it
    /// is asked again; a refreshed access token always asks again. Kept in memory on each node. The default value is 5 minutes.
    /// </summary>
    public TimeSpan MembershipCacheDuration { get; set; } = TimeSpan.FromMinutes(5);

    public FrontendOptions Frontend { get; set; } = new();

    public RateLimitOptions RateLimit { get; set; } = new();

    public RevocationOptions Revocation { get; set; } = new();

    public AuditOptions Audit { get; set; } = new();

    public KeyProtectionOptions KeyProtection { get; set; } = new();

    /// <summary>Exporters the gateway turns on (docs/observability.md); the library only publishes the meter and spans.</summary>
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>A separate listener for operators' endpoints (metrics, health); read by the gateway.</summary>
    public ManagementOptions Management { get; set; } = new();

    /// <summary>The operator page <c>/bff/admin</c> and its JSON API; off unless a policy names who may use it.</summary>
    public AdminOptions Admin { get; set; } = new();

    /// <summary>The keys that sign the identity assertions of <c>Token: assertion</c> routes (issue 20).</summary>
    public AssertionOptions Assertions { get; set; } = new();

    /// <summary>Where the key ring lives when <c>Store</c> does not say otherwise; relative paths resolve against the content root.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>
    /// Addresses (<c>10.0.0.5</c>) or networks (<c>10.0.0.0/8</c>) of reverse proxies in front of the gateway whose
    /// <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c> are believed. From anyone else they are ignored. The default value is none.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>
    /// Sibling hosts (host names such as <c>app.example.com</c>, no scheme, port, path or wildcard) an absolute
    /// <c>returnUrl</c> of login and logout may lead to, over <c>https</c> on the default port only; every other
    /// <c>returnUrl</c> must be a local path (ADR 0042). The default value is none.
    /// </summary>
    public List<string> AllowedReturnHosts { get; set; } = [];

    /// <summary>
    /// The auth endpoint a front proxy (nginx <c>auth_request</c>, Traefik <c>ForwardAuth</c>, Envoy <c>ext_authz</c>)
    /// asks before it forwards a request itself (docs/deploy.md). Off by default.
    /// </summary>
    public ForwardAuthOptions ForwardAuth { get; set; } = new();
}

/// <summary>
/// <c>Portcullis:ForwardAuth</c>: the gateway judges a request a front proxy forwards (session, anti-forgery, the route's
/// requirements, a token refreshed when due) and answers 200 with the header(s) to add, or the proxy's 401/403 JSON.
/// </summary>
public sealed class ForwardAuthOptions
{
    /// <summary>
    /// Turns on <c>{BasePath}{Path}</c>. It answers only requests that arrive on <see cref="Port"/> over a connection from
    /// an address in <c>TrustedProxies</c> (both must then be set): its answer carries the user's access token. The
    /// default value is <c>false</c>.
    /// </summary>
    public bool Enabled { get; set; }

    /// <summary>Where the endpoint is, below <c>BasePath</c>; Envoy appends the original path to it. The default value is <c>/forward-auth</c>.</summary>
    public string Path { get; set; } = "/forward-auth";

    /// <summary>
    /// The gateway's port the front proxy's auth call arrives on; the endpoint answers on no other (404). Required with
    /// <see cref="Enabled"/>: a front proxy that also forwards the browser's <c>/bff/</c> traffic (the usual set-up)
    /// connects from a trusted address for the browser too, so the peer address alone cannot tell the proxy's own
    /// question from a browser script asking, through the proxy, for its user's token. The runnable gateway listens on
    /// it beside its main addresses (same hosts); a host built on the library adds the listener itself. Route nothing
    /// of the proxy's public traffic to it. No default value.
    /// </summary>
    public int? Port { get; set; }
}

/// <summary>One identity provider the gateway signs users in with.</summary>
public sealed class ProviderOptions
{
    /// <summary>
    /// <c>oidc</c> (discovery-based OpenID Connect) or a preset: <c>google</c>, <c>github</c>, <c>discord</c>,
    /// <c>facebook</c> (docs/providers.md). The default value is <c>oidc</c>.
    /// </summary>
    public string Kind { get; set; } = ProviderKinds.Oidc;

    /// <summary>Name shown on the app's login button. The default value is the preset's (e.g. <c>GitHub</c>), else the provider's configuration name.</summary>
    public string? DisplayName { get; set; }

    /// <summary>The issuer; must equal the discovered <c>issuer</c> exactly (mix-up defence, RFC 9700 §4.4).</summary>
    public string? Authority { get; set; }

    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    /// <summary>
    /// <c>client_secret_basic</c>, <c>client_secret_post</c> or <c>private_key_jwt</c> (RFC 7523, <c>oidc</c> only: a JWT
    /// signed with <see cref="ClientSigningKey"/> instead of a secret). The default value is the preset's (GitHub and
    /// Facebook take the secret in the body), otherwise <c>client_secret_basic</c>.
    /// </summary>
    public string? ClientAuthentication { get; set; }

    /// <summary>
    /// <c>private_key_jwt</c>: the private key that signs the client's assertions, as a path to a PEM or JWK file or as
    /// the PEM or JWK itself (e.g. from an environment variable). EC P-256/384/521 (ES256/384/512) or RSA (PS256).
    /// Its public half is served at <c>{BasePath}/jwks/{provider}</c>. The default value is none.
    /// </summary>
    public string? ClientSigningKey { get; set; }

    /// <summary><c>private_key_jwt</c>: the <c>kid</c> of <see cref="ClientSigningKey"/>, sent in every assertion. The default value is none.</summary>
    public string? ClientSigningKeyId { get; set; }

    /// <summary>
    /// <c>private_key_jwt</c> key rotation: a second key (same forms as <see cref="ClientSigningKey"/>) that is published
    /// at <c>{BasePath}/jwks/{provider}</c> but signs nothing: the next key before it becomes <see cref="ClientSigningKey"/>,
    /// or the previous one while the provider may still hold it. The default value is none.
    /// </summary>
    public string? NextClientSigningKey { get; set; }

    /// <summary>The <c>kid</c> of <see cref="NextClientSigningKey"/>; must differ from <see cref="ClientSigningKeyId"/>. The default value is none.</summary>
    public string? NextClientSigningKeyId { get; set; }

    /// <summary>
    /// Pushed authorization requests (RFC 9126): <c>Auto</c> uses them when discovery advertises a
    /// <c>pushed_authorization_request_endpoint</c>, <c>Require</c> always (start-up fails when the provider has none),
    /// <c>Never</c> sends the authorization request in the browser's URL. The default value is <c>Auto</c>, or <c>Require</c>
    /// under <see cref="Profile"/> <c>fapi2</c> (null until the options are post-configured: absent and set are told apart).
    /// </summary>
    public PushedAuthorizationMode? PushedAuthorization { get; set; }

    /// <summary>
    /// Sender-constrained tokens (DPoP, RFC 9449, <c>oidc</c> only): each grant gets its own ES256 key, kept encrypted
    /// with its tokens; <c>dpop_jkt</c> binds the authorization code to it, and every token request and every upstream
    /// call on a <c>Token: user</c> route carries a proof signed with it; <c>Token: client</c> tokens are bound to a key the
    /// gateway holds in memory. The default value is <c>false</c>, or <c>true</c> under <see cref="Profile"/> <c>fapi2</c>
    /// (null until the options are post-configured: absent and set are told apart).
    /// </summary>
    public bool? DPoP { get; set; }

    /// <summary>
    /// A security profile that fixes the provider's settings: <c>fapi2</c> (FAPI 2.0 Security Profile) means
    /// <c>PushedAuthorization: Require</c>, <c>ClientAuthentication: private_key_jwt</c>, <c>DPoP: true</c>, PKCE S256 and the
    /// authorization response's <c>iss</c> required. A key left out takes the profile's value; a key set weaker stops
    /// start-up naming it. The default value is none (each setting as configured).
    /// </summary>
    public string? Profile { get; set; }

    /// <summary>The default value is the preset's scopes; for <c>oidc</c> <c>openid profile email offline_access</c>.</summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>Extra parameters of the authorization request (e.g. <c>prompt</c>, <c>access_type</c>).</summary>
    public Dictionary<string, string> AuthorizationParameters { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Where the provider sends the user after end-session. The default value is <c>{PublicOrigin}/</c>.</summary>
    public string? PostLogoutRedirectUri { get; set; }

    /// <summary>Whether to fetch claims from the userinfo endpoint after login. The default value is <c>true</c>.</summary>
    public bool UseUserInfo { get; set; } = true;

    /// <summary>Endpoints of a plain OAuth 2.0 preset (<c>github</c>, <c>discord</c>, <c>facebook</c>); each defaults to the provider's public one.</summary>
    public ProviderEndpointOptions Endpoints { get; set; } = new();

    /// <summary><c>facebook</c> only: exchange the short-lived user token for a long-lived one at login. The default value is <c>false</c>.</summary>
    public bool ExchangeForLongLivedToken { get; set; }

    /// <summary>
    /// Accept <c>http://</c> provider endpoints other than loopback (the <see cref="Authority"/>, <see cref="Endpoints"/>
    /// and the endpoints its discovery document advertises). Codes, secrets and tokens cross them, so set this only where
    /// the connection is protected another way. The default value is <c>false</c>: start-up fails naming the key, and a
    /// discovery document that advertises such an endpoint is refused.
    /// </summary>
    public bool AllowInsecureTransport { get; set; }
}

/// <summary>
/// Where a plain OAuth 2.0 preset talks to its provider. Unset values take the provider's public endpoints; tests and
/// proxies point them elsewhere. <see cref="Api"/> is the base the user, e-mail, revocation and membership calls hang off.
/// </summary>
public sealed class ProviderEndpointOptions
{
    public string? Authorization { get; set; }

    public string? Token { get; set; }

    public string? Revocation { get; set; }

    public string? Api { get; set; }
}

public static class ProviderKinds
{
    public const string Oidc = "oidc";
    public const string Google = "google";
    public const string GitHub = "github";
    public const string Discord = "discord";
    public const string Facebook = "facebook";

    public static readonly IReadOnlyList<string> All = [Oidc, Google, GitHub, Discord, Facebook];
}

/// <summary>When the authorization request is pushed to the provider first (RFC 9126).</summary>
public enum PushedAuthorizationMode
{
    /// <summary>Push when the provider advertises the endpoint.</summary>
    Auto,

    /// <summary>Always push; a provider without the endpoint stops start-up.</summary>
    Require,

    /// <summary>Never push.</summary>
    Never,
}

/// <summary>Values of <see cref="ProviderOptions.Profile"/>.</summary>
public static class ProviderProfiles
{
    /// <summary>FAPI 2.0 Security Profile (docs/providers.md, ADR 0035).</summary>
    public const string Fapi2 = "fapi2";
}

public static class ClientAuthenticationMethods
{
    public const string ClientSecretBasic = "client_secret_basic";
    public const string ClientSecretPost = "client_secret_post";
    public const string PrivateKeyJwt = "private_key_jwt";
}

public sealed class StoreOptions
{
    /// <summary>
    /// <c>sqlite</c> (embedded, one node), <c>postgres</c> or <c>redis</c> (shared by several nodes).
    /// The default value is <c>sqlite</c>.
    /// </summary>
    public string Kind { get; set; } = StoreKinds.Sqlite;

    /// <summary>
    /// SQLite: <c>Data Source=PATH</c>; PostgreSQL: an Npgsql connection string (<c>Host=…;Database=…;Username=…</c>);
    /// Redis: a StackExchange.Redis configuration (<c>host:port,password=…</c>). Usually given by the environment
    /// (<c>Portcullis__Store__ConnectionString</c>). The default value is <c>Data Source=data/portcullis.db</c>.
    /// </summary>
    public string ConnectionString { get; set; } = "Data Source=data/portcullis.db";

    /// <summary>Redis only: prefix of every key, so several deployments can share one server. The default value is <c>portcullis:</c>.</summary>
    public string KeyPrefix { get; set; } = "portcullis:";
}

public static class StoreKinds
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
    public const string Redis = "redis";
}

public sealed class SessionOptions
{
    /// <summary>
    /// Name of the session cookie; the <c>__Host-</c> prefix pins it to this origin. With <see cref="CookieDomain"/> it
    /// must start with <c>__Secure-</c> instead (a <c>__Host-</c> cookie cannot have a <c>Domain</c>). The default value is
    /// <c>__Host-portcullis</c>, or <c>__Secure-portcullis</c> when <see cref="CookieDomain"/> is set.
    /// </summary>
    public string CookieName { get; set; } = SessionCookieDefaults.HostName;

    /// <summary>
    /// A parent domain of <c>PublicOrigin</c>'s host (<c>example.com</c> for <c>https://bff.example.com</c>) the session
    /// cookie is shared with, for apps on sibling subdomains. Every host below it then receives the cookie, so set it only
    /// when all of them are yours (ADR 0042). The default value is none: the cookie belongs to this exact origin.
    /// </summary>
    public string? CookieDomain { get; set; }

    /// <summary>A session unused this long ends. The default value is 30 minutes.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A session ends this long after login, used or not. The default value is 12 hours.</summary>
    public TimeSpan AbsoluteTimeout { get; set; } = TimeSpan.FromHours(12);

    /// <summary>What happens when a session's browser or network changes (seed 000).</summary>
    public SessionAnomalyOptions Anomalies { get; set; } = new();

    /// <summary>
    /// The longest this node answers an API call from a copy of a session (and its grant) it read from the store, when
    /// no change was announced (ADR 0040). Copies are dropped as soon as any node changes or ends the session (the store's
    /// change feed); this bound only limits the harm of an announcement lost without the feed noticing. Zero turns the
    /// cache off: every request reads the store. At most one minute. The default value is 30 seconds.
    /// </summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How many sessions one node keeps copies of at most (a few KiB each); when full, further sessions are read from
    /// the store until old copies age out. It also bounds how many session cookies' store keys a node remembers
    /// (ADR 0046). The default value is 10,000.
    /// </summary>
    public int CacheSize { get; set; } = 10_000;

    /// <summary>
    /// Where a session's tokens live: <c>server</c> (the cookie holds a random id, the store the tokens encrypted with the
    /// server's key ring), <c>split-key</c> (the store holds ciphertext whose key lives only in the cookie, ADR 0032)
    /// or <c>stateless</c> (no store: the tokens are sealed into the browser's cookies, ADR 0033). docs/security.md compares
    /// them. The default value is <c>server</c>.
    /// </summary>
    public string Mode { get; set; } = SessionModes.Server;

    /// <summary>
    /// Stateless only: how long after it was written a stateless cookie is still accepted, whatever it holds (ADR 0033).
    /// A session in use gets a new cookie at most once a minute, so this bounds how long a copy of the cookies taken
    /// before logout stays usable, and it also ends an idle session (the shorter of this and <c>IdleTimeout</c> applies).
    /// Only allowed when <c>Session:Mode</c> is <c>stateless</c>. The default value is none: <c>IdleTimeout</c>.
    /// </summary>
    public TimeSpan? MaxCookieAge { get; set; }

    /// <summary>
    /// Stateless only: a Redis connection string (StackExchange.Redis syntax) that makes the single-flight refresh
    /// cross-node (ADR 0033): a node takes a lock keyed by the refresh token's hash before presenting it, and publishes
    /// the result sealed with the key ring for 30 seconds; other nodes wait for it (at most 1.5 times
    /// <c>Refresh:Timeout</c>) instead of presenting the same refresh token. Redis unreachable, or not answering within 2
    /// seconds: each node refreshes on its own (warning 6011). Needs Portcullis.Storage.Redis (<c>AddRedisRefreshCoordinator()</c>; the gateway
    /// registers it when the key is set). Only allowed when <c>Session:Mode</c> is <c>stateless</c>. The default value is
    /// none: refresh is single-flight per node.
    /// </summary>
    public string? StatelessRefreshCoordinator { get; set; }

    /// <summary>
    /// Split-key only: lets workers use a user's tokens (<c>Tokens:OfflineAccess</c>) by keeping the user's offline grant
    /// under the server's key ring instead of the session's key, so a copy of the store plus the key ring yields that
    /// grant's tokens again (ADR 0032). Every worker use of it is audited with <c>detail: "offline (split-key server copy)"</c>.
    /// Required, and only allowed, when <c>Session:Mode</c> is <c>split-key</c> and <c>Tokens:OfflineAccess</c> is true.
    /// The default value is false.
    /// </summary>
    public bool SplitKeyOfflineCopy { get; set; }
}

/// <summary>
/// Reactions to signs that a session cookie is used somewhere else than where it was issued: <c>log</c> (a warning,
/// the request goes on), <c>reauthenticate</c> (the session ends; the app gets 401 <c>reauthentication_required</c>)
/// or <c>end</c> (the session ends; 401 <c>unauthenticated</c>).
/// </summary>
public sealed class SessionAnomalyOptions
{
    /// <summary>Reaction when the <c>User-Agent</c> differs from the one at login. The default value is <c>log</c>.</summary>
    public string UserAgentChange { get; set; } = SessionAnomalyReactions.Log;

    /// <summary>Reaction when the client address leaves the network it logged in from. The default value is <c>log</c>.</summary>
    public string ClientNetworkChange { get; set; } = SessionAnomalyReactions.Log;

    /// <summary>Prefix length that makes two IPv4 addresses "the same network". The default value is 24.</summary>
    public int Ipv4PrefixLength { get; set; } = 24;

    /// <summary>Prefix length that makes two IPv6 addresses "the same network". The default value is 64.</summary>
    public int Ipv6PrefixLength { get; set; } = 64;
}

public static class SessionAnomalyReactions
{
    public const string Log = "log";
    public const string Reauthenticate = "reauthenticate";
    public const string End = "end";
}

public sealed class RefreshOptions
{
    /// <summary>Refresh an access token this long before it expires. The default value is 1 minute.</summary>
    public TimeSpan Skew { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a request waits for a refresh of its grant (its own, another request's or another node's): at most 1.5
    /// times this, then it gets 503 <c>provider_unavailable</c> with <c>Retry-After</c> and the session is kept. The
    /// refresh itself goes on (<see cref="TokenRequestDeadline"/>). The default value is 10 seconds.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the gateway waits for the provider's answer to one refresh token request. The request belongs to the
    /// gateway, not to the API call that needed it: no caller's timeout or disconnect cancels it, and an answer that
    /// arrives after the callers got 503 is still saved and used, because a provider that rotates refresh tokens has
    /// already spent the old one (issue 14, ADR 0021). Meanwhile no node presents that refresh token again. At least
    /// <see cref="Timeout"/>. The default value is 30 seconds.
    /// </summary>
    public TimeSpan TokenRequestDeadline { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a node's claim on one grant's refresh lasts in the shared store without renewal, measured by the store's
    /// clock. The holder renews it every third of this while its token request runs, so it bounds how long the users of
    /// a node that died or froze wait before another node takes over, not how long a token request may take (ADR 0022).
    /// The default value is 15 seconds.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);
}

public sealed class CsrfOptions
{
    /// <summary>The header every API and <c>/bff</c> JSON request must carry with value <c>1</c>. The default value is <c>X-CSRF</c>.</summary>
    public string HeaderName { get; set; } = "X-CSRF";

    /// <summary>
    /// Other origins (e.g. <c>https://app.example.com</c>) allowed to call the gateway with credentials: they pass the
    /// origin check and get CORS headers (<c>Access-Control-Allow-Origin</c> with that exact origin and
    /// <c>Allow-Credentials: true</c>). One list for both, so the two checks can never disagree. The default value is none.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>
    /// Accept <c>http://</c> origins other than loopback in <see cref="AllowedOrigins"/>. A page served in cleartext can
    /// be rewritten on the wire and then calls the gateway with the user's cookies. The default value is <c>false</c>.
    /// </summary>
    public bool AllowInsecureTransport { get; set; }
}

/// <summary>An upstream API route: requests under <see cref="Path"/> are forwarded to <see cref="Upstream"/>.</summary>
public sealed class ApiRouteOptions
{
    public string? Path { get; set; }

    public string? Upstream { get; set; }

    /// <summary>
    /// <c>user</c>, <c>user-optional</c>, <c>client</c>, <c>none</c>, or <c>assertion</c> (no provider token: a short-lived
    /// JWT the gateway signs about the signed-in user, in <see cref="AssertionHeader"/>). The default value is <c>user</c>.
    /// </summary>
    public string Token { get; set; } = ApiTokenModes.User;

    /// <summary>For <c>assertion</c> routes: the request header that carries the assertion. The default value is <c>X-Portcullis-Assertion</c>.</summary>
    public string AssertionHeader { get; set; } = ApiRouteDefaults.AssertionHeader;

    /// <summary>
    /// For <c>assertion</c> routes: the user's claims (from the provider's ID token or user info, as <c>/bff/user</c>
    /// shows them) copied into the assertion beside <c>sub</c> and <c>idp</c>; a claim the user lacks is left out. The
    /// default value is none.
    /// </summary>
    public List<string> AssertionClaims { get; set; } = [];

    /// <summary>
    /// For <c>client</c> routes: the provider whose token endpoint issues the gateway's own token. For routes with
    /// <see cref="Resource"/> or <see cref="Audience"/>: the provider the user must have signed in with, which issues the
    /// route's token; for routes with <see cref="AcceptBearer"/>: the provider whose tokens callers may present. The
    /// default value is the only configured provider.
    /// </summary>
    public string? Provider { get; set; }

    /// <summary>
    /// For <c>user</c> and <c>user-optional</c> routes: a request without the session cookie but with
    /// <c>Authorization: Bearer</c> (a CLI or mobile caller) is forwarded with that token as is when <see cref="Provider"/>
    /// confirms it: a JWT by signature, <c>iss</c>, expiry and an <c>aud</c> in <see cref="BearerAudiences"/>; an opaque
    /// token by introspection. A request with the session cookie keeps every cookie check (ADR 0042). The default value is <c>false</c>.
    /// </summary>
    public bool AcceptBearer { get; set; }

    /// <summary>
    /// With <see cref="AcceptBearer"/>: the audiences a caller's JWT access token must name (one is enough). Required with
    /// it, and never the gateway's own client id, which is the audience of its ID tokens. The default value is none.
    /// </summary>
    public List<string> BearerAudiences { get; set; } = [];

    /// <summary>
    /// With <see cref="AcceptBearer"/>: an opaque token whose introspection answer states no <c>aud</c> passes too. Such a
    /// token is meant for no API in particular (with many providers, one requested without <c>resource</c> is good at the
    /// user-info endpoint only), so it is refused unless the route's API accepts any token of <see cref="Provider"/>. A JWT
    /// must name an audience in <see cref="BearerAudiences"/> whatever this says. The default value is <c>false</c>.
    /// </summary>
    public bool BearerAcceptTokensWithoutAudience { get; set; }

    /// <summary>
    /// For <c>user</c> and <c>user-optional</c> routes: an RFC 8707 resource indicator (an absolute URI without fragment).
    /// The route gets an access token minted for this resource alone, obtained from the user's grant and kept beside its
    /// tokens; it is named in every sign-in at <see cref="Provider"/> (ADR 0043). The default value is none: the
    /// sign-in's own access token.
    /// </summary>
    public string? Resource { get; set; }

    /// <summary>
    /// Like <see cref="Resource"/>, for providers that name the target API with an <c>audience</c> parameter instead
    /// (RFC 8693 §2.1, and some providers' refresh requests). Not with <see cref="Resource"/>. The default value is none.
    /// </summary>
    public string? Audience { get; set; }

    /// <summary>
    /// Obtain the route's token by RFC 8693 token exchange (the user's access token as <c>subject_token</c>) instead of a
    /// refresh with <c>resource</c>/<c>audience</c>; needs <see cref="Resource"/> or <see cref="Audience"/>. The default
    /// value is <c>false</c>.
    /// </summary>
    public bool TokenExchange { get; set; }

    /// <summary>For <c>client</c> routes: scopes requested with the client-credentials grant. The default value is none (the provider's default).</summary>
    public List<string> ClientScopes { get; set; } = [];

    /// <summary>For <c>user</c> routes: scopes the user's grant must include, else 403 <c>forbidden</c>. The default value is none.</summary>
    public List<string> RequireScopes { get; set; } = [];

    /// <summary>
    /// For <c>user</c> routes: claims the user must have, each with the values accepted (any one of them; an empty list
    /// accepts any value), else 403 <c>forbidden</c>. The default value is none.
    /// </summary>
    public Dictionary<string, List<string>> RequireClaims { get; set; } = new(StringComparer.Ordinal);

    /// <summary>For <c>user</c> routes: the name of an access policy in <c>Portcullis:Policies</c> the user must satisfy. The default value is none.</summary>
    public string? Policy { get; set; }

    /// <summary>Whether WebSocket upgrades are forwarded on this route (origin checked at the upgrade). The default value is <c>false</c>.</summary>
    public bool WebSockets { get; set; }

    /// <summary>Largest request body accepted, in bytes; larger ones get 413. The default value is 30,000,000 (Kestrel's).</summary>
    public long MaxRequestBodySize { get; set; } = ApiRouteDefaults.MaxRequestBodySize;

    /// <summary>Largest upstream response body passed on, in bytes; a larger one is cut off. The default value is no limit.</summary>
    public long? MaxResponseBodySize { get; set; }

    /// <summary>
    /// Request bodies up to this many bytes are buffered so a request can be replayed once after the upstream answers 401
    /// and the token is refreshed; larger bodies stream and are not retried. The default value is 65,536.
    /// </summary>
    public int RetryBodyLimit { get; set; } = ApiRouteDefaults.RetryBodyLimit;

    /// <summary>How long the upstream may stay silent (no bytes either way) before the request is abandoned. The default value is 100 seconds.</summary>
    public TimeSpan Timeout { get; set; } = ApiRouteDefaults.Timeout;

    /// <summary>
    /// Whether the upstream's <c>Set-Cookie</c> headers reach the browser. An API shares the gateway's origin, so a cookie
    /// it sets would be the gateway's: it could plant a session or a login binding (issue 17). When <c>true</c>, cookies
    /// whose names could be the gateway's own (the session cookie, any <c>__Host-portcullis</c> or <c>__Secure-portcullis</c> name) are still
    /// dropped. The default value is <c>false</c>: no upstream cookie reaches the browser.
    /// </summary>
    public bool PassResponseCookies { get; set; }

    /// <summary>
    /// A <c>Content-Security-Policy</c> added to every answer of this route, on top of any the upstream sends (browsers
    /// enforce both), so an API that answers HTML cannot run script on the gateway's origin. Empty to add none. The
    /// default value is <c>default-src 'none'; frame-ancestors 'none'; sandbox</c>.
    /// </summary>
    public string ResponseContentSecurityPolicy { get; set; } = ApiRouteDefaults.ResponseContentSecurityPolicy;

    /// <summary>
    /// Accept an <c>http://</c> <see cref="Upstream"/> other than loopback. The access token travels to the upstream, so
    /// set this only where the connection is protected another way (a service mesh with mTLS, a private link). The
    /// default value is <c>false</c>: start-up fails naming the key.
    /// </summary>
    public bool AllowInsecureTransport { get; set; }
}

/// <summary>The session cookie's default names.</summary>
public static class SessionCookieDefaults
{
    /// <summary>Pinned to the gateway's origin: no <c>Domain</c>, <c>Path=/</c>, <c>Secure</c>.</summary>
    public const string HostName = "__Host-portcullis";

    /// <summary>With <c>Session:CookieDomain</c>: <c>__Secure-</c> allows a <c>Domain</c> and still requires <c>Secure</c>.</summary>
    public const string DomainName = "__Secure-portcullis";
}

public static class ApiTokenModes
{
    public const string User = "user";
    public const string UserOptional = "user-optional";
    public const string Client = "client";
    public const string None = "none";
    public const string Assertion = "assertion";
}

public static class ApiRouteDefaults
{
    public const long MaxRequestBodySize = 30_000_000;
    public const int RetryBodyLimit = 64 * 1024;
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(100);
    public const string ResponseContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; sandbox";
    public const string AssertionHeader = "X-Portcullis-Assertion";
}

/// <summary>
/// The gateway's own signing keys for <c>Token: assertion</c> routes: an upstream that does not speak OAuth learns who
/// the user is from a JWT the gateway signs, verified with the public keys at <c>/.well-known/portcullis/jwks</c>.
/// A reload of the configuration that changes a key's value or path takes effect; rewriting a key file in place at the
/// same path is not noticed until a restart, so rotate by pointing at a new file (ADR 0041).
/// </summary>
public sealed class AssertionOptions
{
    /// <summary>The private key that signs (EC P-256 recommended: ES256), as for a provider's <c>ClientSigningKey</c>: PEM or JWK text, or a path to a file holding either. Required when a route uses <c>Token: assertion</c>. The default value is none.</summary>
    public string? SigningKey { get; set; }

    /// <summary>The <c>kid</c> of <see cref="SigningKey"/>, in every assertion's header. Required with it. The default value is none.</summary>
    public string? SigningKeyId { get; set; }

    /// <summary>Key rotation: a second key published in the JWK set but signing nothing, so upstreams know it before it becomes <see cref="SigningKey"/>. The default value is none.</summary>
    public string? NextSigningKey { get; set; }

    /// <summary>The <c>kid</c> of <see cref="NextSigningKey"/>; must differ from <see cref="SigningKeyId"/>. The default value is none.</summary>
    public string? NextSigningKeyId { get; set; }

    /// <summary>How long an assertion is valid; short, since it is minted for every request. The default value is 60 seconds.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromSeconds(60);
}

public sealed class FrontendOptions
{
    /// <summary>Folder of the single-page app's static files served by the gateway; none when empty.</summary>
    public string? StaticRoot { get; set; }
}

public sealed class RateLimitOptions
{
    /// <summary>Login and callback requests allowed per client address per minute; more get 429. The default value is 60.</summary>
    public int LoginPerMinute { get; set; } = 60;

    /// <summary>
    /// Back-channel logout requests allowed per client address (the provider's servers) per minute; more get 429. Each
    /// costs a signature check. The default value is 300.
    /// </summary>
    public int BackchannelLogoutPerMinute { get; set; } = 300;
}

/// <summary>Revocation at the provider: tried at once in the background, retried with backoff while it fails.</summary>
public sealed class RevocationOptions
{
    /// <summary>Bound of one revocation request. The default value is 5 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Delay before the first retry; it doubles with every failure. The default value is 5 seconds.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest delay between two retries. The default value is 10 minutes.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long a refresh token is retried before giving up (access tokens are given up at their expiry).
    /// The default value is 30 days.
    /// </summary>
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromDays(30);
}

/// <summary>The audit log in the store.</summary>
public sealed class AuditOptions
{
    /// <summary>How long audit entries are kept. The default value is 90 days.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(90);
}

/// <summary><c>Portcullis:Telemetry</c>: read by the gateway, which owns the exporters (ADR 0026).</summary>
public sealed class TelemetryOptions
{
    /// <summary>OTLP export of metrics and traces.</summary>
    public OtlpTelemetryOptions Otlp { get; set; } = new();

    /// <summary>Serves <c>GET /metrics</c> in Prometheus text format. The default value is false.</summary>
    public bool Prometheus { get; set; }
}

/// <summary><c>Portcullis:Management</c>: read by the gateway, which owns its listeners.</summary>
public sealed class ManagementOptions
{
    /// <summary>
    /// Addresses of the management listener, separated by <c>;</c> like <c>ASPNETCORE_URLS</c> (e.g.
    /// <c>http://127.0.0.1:9090</c>), each with an explicit port other than the main one. Set, <c>GET /metrics</c> is served
    /// there only, the health endpoints there as well, and nothing else. The default value is none (all on the main port).
    /// </summary>
    public string? Urls { get; set; }
}

/// <summary><c>Portcullis:Admin</c>: the operator page.</summary>
public sealed class AdminOptions
{
    /// <summary>
    /// The access policy in <c>Portcullis:Policies</c> an operator's session must satisfy. Set, it turns on
    /// <c>/bff/admin</c> and <c>/bff/admin/api/*</c>; anyone else gets 403 and sees nothing. The default value is none (off).
    /// </summary>
    public string? Policy { get; set; }
}

/// <summary><c>Portcullis:Telemetry:Otlp</c>.</summary>
public sealed class OtlpTelemetryOptions
{
    /// <summary>The collector's URL (e.g. <c>http://127.0.0.1:4317</c>); set, it turns on the OTLP exporter. The default value is none.</summary>
    public string? Endpoint { get; set; }
}
