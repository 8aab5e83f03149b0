using Microsoft.Extensions.Logging;

namespace Portcullis.Diagnostics;

/// <summary>
/// Every log line the library writes, with its event id (unique; a test pins that). No method here takes a token,
/// session identifier, client secret, code, state or verifier as an argument (SECURITY.md item 21).
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Login started with provider {Provider}.", EventName = "LoginStarted")]
    public static partial void LoginStarted(ILogger logger, string provider);

    [LoggerMessage(1001, LogLevel.Information, "User {UserId} signed in with provider {Provider}.", EventName = "LoginCompleted")]
    public static partial void LoginCompleted(ILogger logger, string userId, string provider);

    [LoggerMessage(1002, LogLevel.Warning, "Login callback for provider {Provider} refused: {Reason}.", EventName = "CallbackRefused")]
    public static partial void CallbackRefused(ILogger logger, string provider, string reason);

    [LoggerMessage(1003, LogLevel.Warning, "Provider {Provider} returned error '{ProviderError}' to the login callback.", EventName = "ProviderReturnedError")]
    public static partial void ProviderReturnedError(ILogger logger, string provider, string providerError);

    [LoggerMessage(1004, LogLevel.Warning, "Token request to provider {Provider} failed: {Error} (HTTP {Status}).", EventName = "TokenRequestFailed")]
    public static partial void TokenRequestFailed(ILogger logger, string provider, string error, int status);

    [LoggerMessage(1020, LogLevel.Warning, "Refresh token request to provider {Provider} ended without an answer after it may have reached the provider ({Reason}): the refresh token may have been rotated into an answer nobody read. The access token is used until it expires; then the refresh token is presented once more.", EventName = "RefreshOutcomeUnknown")]
    public static partial void RefreshOutcomeUnknown(ILogger logger, string provider, string reason);

    [LoggerMessage(1021, LogLevel.Warning, "A refresh for provider {Provider} lost its lease while its token request was outstanding (the node froze or could not reach the store to renew it). Its answer is still saved if no newer grant was written.", EventName = "RefreshLeaseLost")]
    public static partial void RefreshLeaseLost(ILogger logger, string provider);

    [LoggerMessage(1022, LogLevel.Warning, "A refresh token request for provider {Provider} started {Seconds} s ago on a node that no longer holds its lease; its refresh token is not presented again until that request's deadline has passed. The current access token is used while it is valid.", EventName = "RefreshOutstandingElsewhere")]
    public static partial void RefreshOutstandingElsewhere(ILogger logger, string provider, long seconds);

    [LoggerMessage(1023, LogLevel.Warning, "Refreshed tokens for provider {Provider} could not be saved ({Reason}): kept in this node's memory and used by its requests; the save is retried in the background.", EventName = "RefreshedGrantSavePending")]
    public static partial void RefreshedGrantSavePending(ILogger logger, string provider, string reason);

    [LoggerMessage(1024, LogLevel.Information, "Refreshed tokens for provider {Provider} saved after {Attempts} attempts.", EventName = "RefreshedGrantSaveLanded")]
    public static partial void RefreshedGrantSaveLanded(ILogger logger, string provider, int attempts);

    [LoggerMessage(1025, LogLevel.Error, "Refreshed tokens for provider {Provider} were not saved after {Attempts} attempts: {Reason}. The rotated refresh token is lost when this node stops.", EventName = "RefreshedGrantSaveAbandoned")]
    public static partial void RefreshedGrantSaveAbandoned(ILogger logger, string provider, int attempts, string reason);

    [LoggerMessage(1040, LogLevel.Warning, "A refresh token request for provider {Provider} started {Seconds} s ago on a node that never finished it (the node died, or froze past the request's deadline): its outcome is unknown. The access token has expired, so the refresh token is presented again; a provider that rotated it into the lost answer refuses it and the user signs in again.", EventName = "RefreshTakenOverAfterUnknownOutcome")]
    public static partial void RefreshTakenOverAfterUnknownOutcome(ILogger logger, string provider, long seconds);

    [LoggerMessage(1005, LogLevel.Warning, "ID token from provider {Provider} refused: {Reason}.", EventName = "IdTokenRefused")]
    public static partial void IdTokenRefused(ILogger logger, string provider, string reason);

    [LoggerMessage(1007, LogLevel.Warning, "The ID token refreshed by provider {Provider} is signed under a key its JWKS did not have when last read (a key rollover the gateway could not read yet): the refreshed tokens are used, the session keeps its earlier ID token until a later refresh brings one that can be checked.", EventName = "RefreshedIdTokenUnverifiable")]
    public static partial void RefreshedIdTokenUnverifiable(ILogger logger, string provider);

    [LoggerMessage(1008, LogLevel.Warning, "A refresh for user {UserId} at provider {Provider} was answered after the grant ended; the refresh token it rotated is queued for revocation.", EventName = "RefreshAnsweredAfterTheGrantEnded")]
    public static partial void RefreshAnsweredAfterTheGrantEnded(ILogger logger, string provider, string userId);

    [LoggerMessage(1006, LogLevel.Error, "Metadata of provider {Provider} could not be loaded or is inconsistent: {Reason}.", EventName = "ProviderMetadataFailed")]
    public static partial void ProviderMetadataFailed(ILogger logger, string provider, string reason);

    [LoggerMessage(1100, LogLevel.Information, "Session {Handle} of user {UserId} ended by logout.", EventName = "LoggedOut")]
    public static partial void LoggedOut(ILogger logger, string handle, string userId);

    [LoggerMessage(1101, LogLevel.Information, "Revoked the {TokenKind} of a grant at provider {Provider}.", EventName = "TokenRevoked")]
    public static partial void TokenRevoked(ILogger logger, string tokenKind, string provider);

    [LoggerMessage(1102, LogLevel.Warning, "Revocation at provider {Provider} failed: {Error}.", EventName = "RevocationFailed")]
    public static partial void RevocationFailed(ILogger logger, string provider, string error);

    [LoggerMessage(1103, LogLevel.Warning, "Stored tokens of session {Handle} could not be decrypted; the session is refused.", EventName = "VaultDecryptFailed")]
    public static partial void VaultDecryptFailed(ILogger logger, string handle);

    [LoggerMessage(1104, LogLevel.Warning, "Gave up revoking a {TokenKind} at provider {Provider} after {Attempts} attempts: {Reason}.", EventName = "RevocationAbandoned")]
    public static partial void RevocationAbandoned(ILogger logger, string tokenKind, string provider, int attempts, string reason);

    [LoggerMessage(1105, LogLevel.Warning, "Back-channel logout from provider {Provider} refused: {Reason}.", EventName = "BackchannelLogoutRefused")]
    public static partial void BackchannelLogoutRefused(ILogger logger, string provider, string reason);

    [LoggerMessage(1110, LogLevel.Warning, "Back-channel logout from provider {Provider} could not be checked: its metadata or signing keys cannot be read ({ErrorType}); answered 503.", EventName = "BackchannelLogoutUncheckable")]
    public static partial void BackchannelLogoutUncheckable(ILogger logger, string provider, string errorType);

    [LoggerMessage(1106, LogLevel.Information, "Back-channel logout from provider {Provider} ended {Count} session(s).", EventName = "BackchannelLogoutCompleted")]
    public static partial void BackchannelLogoutCompleted(ILogger logger, string provider, int count);

    [LoggerMessage(1107, LogLevel.Information, "Provider {Provider} no longer accepts the grant of user {UserId}; its sessions were ended.", EventName = "ReauthenticationRequired")]
    public static partial void ReauthenticationRequired(ILogger logger, string provider, string userId);

    [LoggerMessage(1108, LogLevel.Information, "Session {Handle} of user {UserId} ended by the user.", EventName = "SessionEndedByUser")]
    public static partial void SessionEndedByUser(ILogger logger, string handle, string userId);

    [LoggerMessage(1109, LogLevel.Information, "{Actor} obtained an access token of user {UserId} at provider {Provider}.", EventName = "UserTokenIssued")]
    public static partial void UserTokenIssued(ILogger logger, string actor, string userId, string provider);

    [LoggerMessage(1030, LogLevel.Information, "A grant of user {UserId} at provider {Provider} ended without revocation: revoking it could end a grant another session still uses (ADR 0020).", EventName = "GrantEndedWithoutRevocation")]
    public static partial void GrantEndedWithoutRevocation(ILogger logger, string userId, string provider);

    [LoggerMessage(1031, LogLevel.Information, "A grant of user {UserId} at provider {Provider} that no session used any more was ended; revocation queued: {Revoked}.", EventName = "UnusedGrantEnded")]
    public static partial void UnusedGrantEnded(ILogger logger, string userId, string provider, bool revoked);

    [LoggerMessage(1032, LogLevel.Warning, "Ending grants no session uses failed ({ErrorType}); trying again at the next sweep.", EventName = "UnusedGrantSweepFailed")]
    public static partial void UnusedGrantSweepFailed(ILogger logger, string errorType);

    [LoggerMessage(1050, LogLevel.Information, "Session cache on: subscribed to the store's change feed; every copy read before was dropped (ADR 0040).", EventName = "SessionCacheListening")]
    public static partial void SessionCacheListening(ILogger logger);

    [LoggerMessage(1051, LogLevel.Warning, "Session cache off: the store's change feed broke ({Reason}); every request reads the store until it is subscribed again (ADR 0040).", EventName = "SessionCacheChannelLost")]
    public static partial void SessionCacheChannelLost(ILogger logger, string reason);

    [LoggerMessage(1052, LogLevel.Warning, "A session or grant change could not be announced to the other nodes ({ErrorType}); they may use their copy for up to Session:CacheDuration (ADR 0040).", EventName = "SessionChangeNotAnnounced")]
    public static partial void SessionChangeNotAnnounced(ILogger logger, string errorType);

    [LoggerMessage(1053, LogLevel.Warning, "The session cache is full ({Capacity} copies, Session:CacheSize): further sessions are read from the store until old copies age out.", EventName = "SessionCacheFull")]
    public static partial void SessionCacheFull(ILogger logger, int capacity);

    [LoggerMessage(1200, LogLevel.Debug, "Request refused by the anti-forgery check: {Reason}.", EventName = "CsrfRefused")]
    public static partial void CsrfRefused(ILogger logger, string reason);

    [LoggerMessage(1300, LogLevel.Warning, "Upstream {Route} could not be reached: {Error}.", EventName = "UpstreamFailed")]
    public static partial void UpstreamFailed(ILogger logger, string route, string error);

    /// <summary>The browser went away (navigation, closed tab, an aborted fetch): nothing is wrong with the upstream.</summary>
    [LoggerMessage(1301, LogLevel.Debug, "The client of {Route} went away before its answer was complete: {Error}.", EventName = "ClientWentAway")]
    public static partial void ClientWentAway(ILogger logger, string route, string error);

    /// <summary>A body without a declared length outgrew the route's limit mid-stream: the client's mistake, not the upstream's.</summary>
    [LoggerMessage(1302, LogLevel.Information, "A request body to {Route} grew past the route's limit of {Limit} bytes (MaxRequestBodySize); answered 413.", EventName = "RequestBodyTooLarge")]
    public static partial void RequestBodyTooLarge(ILogger logger, string route, long limit);

    [LoggerMessage(2000, LogLevel.Information, "Upstream {Route} answered 401; renewing the access token and retrying once.", EventName = "UpstreamRejectedToken")]
    public static partial void UpstreamRejectedToken(ILogger logger, string route);

    [LoggerMessage(2001, LogLevel.Information, "Request to route {Route} forbidden: {Reason}", EventName = "RouteForbidden")]
    public static partial void RouteForbidden(ILogger logger, string route, string reason);

    [LoggerMessage(2002, LogLevel.Debug, "Request to route {Route} refused: {Reason}.", EventName = "ProxyRequestRefused")]
    public static partial void ProxyRequestRefused(ILogger logger, string route, string reason);

    [LoggerMessage(2003, LogLevel.Information, "Obtained a client-credentials access token from provider {Provider}.", EventName = "ClientTokenObtained")]
    public static partial void ClientTokenObtained(ILogger logger, string provider);

    [LoggerMessage(2004, LogLevel.Warning, "Upstream {Route} answered with a body larger than the route's limit of {Limit} bytes.", EventName = "UpstreamResponseTooLarge")]
    public static partial void UpstreamResponseTooLarge(ILogger logger, string route, long limit);

    [LoggerMessage(2005, LogLevel.Information, "Request to route {Route} ended: its body stopped short of its declared length ({Reason}); nothing was forwarded.", EventName = "ProxyRequestBodyIncomplete")]
    public static partial void ProxyRequestBodyIncomplete(ILogger logger, string route, string reason);

    [LoggerMessage(1401, LogLevel.Warning, "Cleaning expired rows from the store failed: {Error}; trying again later.", EventName = "StoreCleanupFailed")]
    public static partial void StoreCleanupFailed(ILogger logger, string error);

    [LoggerMessage(1402, LogLevel.Error, "Writing the audit entry '{AuditEvent}' failed: {Error}.", EventName = "AuditWriteFailed")]
    public static partial void AuditWriteFailed(ILogger logger, string auditEvent, string error);

    [LoggerMessage(4000, LogLevel.Warning, "The store could not be reached while answering {Method} {Path}: {Error}; answered 503.", EventName = "StoreUnavailable")]
    public static partial void StoreUnavailable(ILogger logger, string method, string path, string error);

    [LoggerMessage(4001, LogLevel.Information, "Created Data Protection key {KeyId}, active from {ActivationDate}.", EventName = "KeyCreated")]
    public static partial void KeyCreated(ILogger logger, Guid keyId, DateTimeOffset activationDate);

    [LoggerMessage(4002, LogLevel.Information, "Re-encrypted {Count} stored value(s) of kind {Kind} with the current key.", EventName = "Reencrypted")]
    public static partial void Reencrypted(ILogger logger, string kind, int count);

    [LoggerMessage(4003, LogLevel.Information, "The shared key ring changed; reloading it.", EventName = "KeyRingChanged")]
    public static partial void KeyRingChanged(ILogger logger);

    [LoggerMessage(4004, LogLevel.Warning, "Watching the shared key ring failed: {Error}; trying again later.", EventName = "KeyRingWatchFailed")]
    public static partial void KeyRingWatchFailed(ILogger logger, string error);

    // The name is the one the store holds the element under (a writer of the store chooses it: cut short, no control
    // characters); the reason is a fixed phrase. Never the element's content: it may be key material.
    [LoggerMessage(4005, LogLevel.Warning, "Ignored the key-ring element stored as '{Name}': {Reason}. Someone who can write the store may have tried to plant a key or revocation (docs/adr/0023).", EventName = "KeyRingElementRejected")]
    public static partial void KeyRingElementRejected(ILogger logger, string name, string reason);

    [LoggerMessage(4006, LogLevel.Information, "Sealed {Count} key-ring element(s) written before key-ring sealing with the master key (docs/adr/0023).", EventName = "KeyRingSealed")]
    public static partial void KeyRingSealed(ILogger logger, int count);

    [LoggerMessage(4007, LogLevel.Information, "No KeyProtection:MasterKey is configured: created the master key file {Path} (mode 0600), which encrypts the embedded key ring. Back it up apart from the data; a copy of the data folder with it reads every token.", EventName = "MasterKeyFileCreated")]
    public static partial void MasterKeyFileCreated(ILogger logger, string path);

    [LoggerMessage(1403, LogLevel.Error, "Background revocation work failed: {Error}; trying again later.", EventName = "RevocationWorkFailed")]
    public static partial void RevocationWorkFailed(ILogger logger, string error);

    // 3000–3099: provider presets, identity linking, step-up and session anomaly checks (issue 5).
    [LoggerMessage(3000, LogLevel.Warning, "User endpoint of provider {Provider} failed: {Error}.", EventName = "UserEndpointFailed")]
    public static partial void UserEndpointFailed(ILogger logger, string provider, string error);

    [LoggerMessage(3001, LogLevel.Warning, "Step-up login with provider {Provider} refused: {Reason}.", EventName = "StepUpRefused")]
    public static partial void StepUpRefused(ILogger logger, string provider, string reason);

    [LoggerMessage(3002, LogLevel.Information, "Identity at provider {Provider} linked to user {UserId}.", EventName = "IdentityLinked")]
    public static partial void IdentityLinked(ILogger logger, string provider, string userId);

    [LoggerMessage(3003, LogLevel.Warning, "Linking an identity at provider {Provider} to user {UserId} refused: {Reason}.", EventName = "IdentityLinkRefused")]
    public static partial void IdentityLinkRefused(ILogger logger, string provider, string userId, string reason);

    [LoggerMessage(3004, LogLevel.Warning, "Session {Handle} of user {UserId}: {Anomaly} changed within the session; reaction: {Reaction}.", EventName = "SessionAnomaly")]
    public static partial void SessionAnomaly(ILogger logger, string handle, string userId, string anomaly, string reaction);

    [LoggerMessage(3005, LogLevel.Warning, "Provider {Provider} is rate limiting the gateway; retry after {Seconds} s.", EventName = "ProviderRateLimited")]
    public static partial void ProviderRateLimited(ILogger logger, string provider, int seconds);

    [LoggerMessage(3100, LogLevel.Information, "Membership of user {UserId} at provider {Provider} asked ({Requirement}): {Outcome}.", EventName = "MembershipChecked")]
    public static partial void MembershipChecked(ILogger logger, string userId, string provider, string requirement, string outcome);

    [LoggerMessage(3101, LogLevel.Warning, "Membership at provider {Provider} could not be asked ({Requirement}): HTTP {Status}; retry after {Seconds} s. Nobody is admitted meanwhile.", EventName = "MembershipUnavailable")]
    public static partial void MembershipUnavailable(ILogger logger, string provider, string requirement, int status, int seconds);

    // 5000–5099: operability (configuration reload, management port, operator actions; issue 19).
    [LoggerMessage(5000, LogLevel.Information, "Configuration reloaded: {Routes} API routes and {Origins} allowed origins are now in force.", EventName = "ConfigurationReloaded")]
    public static partial void ConfigurationReloaded(ILogger logger, int routes, int origins);

    [LoggerMessage(5001, LogLevel.Error, "The changed configuration was refused and the previous one stays in force: {Problem}", EventName = "ConfigurationReloadRefused")]
    public static partial void ConfigurationReloadRefused(ILogger logger, string problem);

    [LoggerMessage(5010, LogLevel.Debug, "A signed-in user who does not satisfy Portcullis:Admin:Policy was refused the operator page.", EventName = "AdminRefused")]
    public static partial void AdminRefused(ILogger logger);

    // 6000-6002: session modes (issue 15: split-key, ADR 0032).
    [LoggerMessage(6000, LogLevel.Debug, "Split-key session {Handle} was presented with a key that does not open it; the request is refused and the session left as it was.", EventName = "SplitKeyRefused")]
    public static partial void SplitKeyRefused(ILogger logger, string handle);

    [LoggerMessage(6001, LogLevel.Information, "Grant of user {UserId} at provider {Provider} is sealed under its session's cookie key and no request of that session is running: deleted without revocation; its tokens expire at the provider.", EventName = "SplitKeyGrantEndedWithoutRevocation")]
    public static partial void SplitKeyGrantEndedWithoutRevocation(ILogger logger, string userId, string provider);

    [LoggerMessage(6002, LogLevel.Information, "Login of user {UserId} at provider {Provider} keeps its grant under the server's key ring for offline use (Session:SplitKeyOfflineCopy).", EventName = "SplitKeyOfflineCopyKept")]
    public static partial void SplitKeyOfflineCopyKept(ILogger logger, string userId, string provider);

    // 6003-6019: stateless sessions (issue 15 item 2, ADR 0033). Never a cookie value or a token.
    [LoggerMessage(6003, LogLevel.Information, "Audit (stateless, no audit store): {Event} {Outcome} user {UserId} provider {Provider} actor {Actor}: {Detail}", EventName = "StatelessAudit")]
    public static partial void StatelessAudit(ILogger logger, string @event, string outcome, string? userId, string? provider, string? actor, string? detail);

    [LoggerMessage(6004, LogLevel.Debug, "A stateless session cookie that does not open (changed, truncated, a chunk missing, sealed for another cookie or by a key no longer in the ring) was refused; nothing changed.", EventName = "StatelessCookieRefused")]
    public static partial void StatelessCookieRefused(ILogger logger);

    [LoggerMessage(6005, LogLevel.Debug, "A stateless session cookie of user {UserId} was refused: written {Age} ago, past Session:MaxCookieAge (or IdleTimeout) {Limit}, or past its session's absolute end.", EventName = "StatelessCookieExpired")]
    public static partial void StatelessCookieExpired(ILogger logger, string userId, TimeSpan age, TimeSpan limit);

    [LoggerMessage(6006, LogLevel.Debug, "A stateless refresh cookie that belongs to another session (or does not open) came with a session of user {UserId}; it is ignored.", EventName = "StatelessRefreshCookieRefused")]
    public static partial void StatelessRefreshCookieRefused(ILogger logger, string userId);

    [LoggerMessage(6007, LogLevel.Information, "The access token of user {UserId} at provider {Provider} is due but the request to {Path} carries no refresh cookie (its Path is the API routes' and the logout endpoint's).", EventName = "StatelessRefreshCookieAbsent")]
    public static partial void StatelessRefreshCookieAbsent(ILogger logger, string userId, string provider, string path);

    [LoggerMessage(6008, LogLevel.Warning, "Logout of user {UserId} at provider {Provider}: the revocation did not succeed ({Result}) and stateless mode has no outbox to retry it; the token stays valid at the provider until it expires.", EventName = "StatelessRevocationNotRetried")]
    public static partial void StatelessRevocationNotRetried(ILogger logger, string userId, string provider, string result);

    [LoggerMessage(6009, LogLevel.Debug, "{Feature} was refused: it needs sessions kept on the server and Portcullis:Session:Mode is stateless.", EventName = "StatelessFeatureRefused")]
    public static partial void StatelessFeatureRefused(ILogger logger, string feature);

    [LoggerMessage(6010, LogLevel.Information, "Stateless refresh of user {UserId} at provider {Provider}: {Outcome}.", EventName = "StatelessRefreshed")]
    public static partial void StatelessRefreshed(ILogger logger, string userId, string provider, string outcome);

    // 6011-6019: the stateless refresh coordinator (ADR 0033). Never the refresh token nor its hash.
    [LoggerMessage(6011, LogLevel.Warning, "The stateless refresh coordinator (Session:StatelessRefreshCoordinator) could not be reached ({Error}); this refresh is single-flight on this node only.", EventName = "RefreshCoordinatorUnavailable")]
    public static partial void RefreshCoordinatorUnavailable(ILogger logger, string error);

    [LoggerMessage(6012, LogLevel.Information, "The stateless refresh of user {UserId} was done by another node; its published result is used.", EventName = "RefreshCoordinatorResultUsed")]
    public static partial void RefreshCoordinatorResultUsed(ILogger logger, string userId);

    [LoggerMessage(6013, LogLevel.Warning, "A stateless refresh result published by another node for user {UserId} did not open with this node's key ring; it is ignored.", EventName = "RefreshCoordinatorResultRefused")]
    public static partial void RefreshCoordinatorResultRefused(ILogger logger, string userId);

    [LoggerMessage(6014, LogLevel.Information, "A stateless refresh result for user {UserId} was refused: a logout has ended its session (a tombstone in the coordinator); answered reauthentication_required.", EventName = "StatelessResultOfLoggedOutSessionRefused")]
    public static partial void StatelessResultOfLoggedOutSessionRefused(ILogger logger, string userId);

    // 6020-6039: sender-constrained tokens and strong client authentication (issue 16: PAR, DPoP, private_key_jwt, fapi2).
    [LoggerMessage(6020, LogLevel.Warning, "Pushed authorization request to provider {Provider} failed: {Error} (HTTP {Status}).", EventName = "PushedAuthorizationFailed")]
    public static partial void PushedAuthorizationFailed(ILogger logger, string provider, string error, int status);

    [LoggerMessage(6021, LogLevel.Error, "Provider {Provider} advertises no pushed_authorization_request_endpoint but {Key} is Require: no login is started.", EventName = "PushedAuthorizationUnavailable")]
    public static partial void PushedAuthorizationUnavailable(ILogger logger, string provider, string key);

    [LoggerMessage(6022, LogLevel.Warning, "Provider {Provider}'s metadata could not be read at start-up to check what its configuration requires ({Reason}); logins check it again.", EventName = "ProviderRequirementsUnchecked")]
    public static partial void ProviderRequirementsUnchecked(ILogger logger, string provider, string reason);

    // 6023-6039: per-route audiences (issue 20 item 2: RFC 8707 resources, audiences, RFC 8693 token exchange; ADR 0043).
    // Debug: a signed-in user can repeat the request at will (SECURITY.md item 42).
    [LoggerMessage(6023, LogLevel.Debug, "No token for API {Audience} at provider {Provider}: {Reason}", EventName = "AudienceTokenRefused")]
    public static partial void AudienceTokenRefused(ILogger logger, string provider, string audience, string reason);

    [LoggerMessage(6024, LogLevel.Information, "Token for API {Audience} obtained from provider {Provider} by token exchange (kept with the grant: {Saved}).", EventName = "AudienceTokenExchanged")]
    public static partial void AudienceTokenExchanged(ILogger logger, string provider, string audience, bool saved);

    // 6040-6059: fitting into front proxies and other callers (issue 20: forward-auth, bearer pass-through).
    // Debug: anyone who can reach the endpoint can trigger it at will (SECURITY.md item 42); the 403 says what is wrong.
    [LoggerMessage(6040, LogLevel.Debug, "Forward-auth request from {Peer}, which is not in Portcullis:TrustedProxies, refused.", EventName = "ForwardAuthUntrustedPeer")]
    public static partial void ForwardAuthUntrustedPeer(ILogger logger, string peer);

    [LoggerMessage(6041, LogLevel.Debug, "Forward-auth request refused before any route was judged: {Reason}.", EventName = "ForwardAuthUnreadable")]
    public static partial void ForwardAuthUnreadable(ILogger logger, string reason);

    [LoggerMessage(2006, LogLevel.Debug, "Forward-auth request on port {Port}, which is not Portcullis:ForwardAuth:Port, answered 404.", EventName = "ForwardAuthOtherPort")]
    public static partial void ForwardAuthOtherPort(ILogger logger, int port);

    // 6042-6059: bearer pass-through and sibling hosts (issue 20 items 4 and 5, ADR 0042). Never the token, nor its hash.
    [LoggerMessage(6042, LogLevel.Debug, "Bearer token presented to route {Route} refused (provider {Provider}): {Reason}.", EventName = "BearerRefused")]
    public static partial void BearerRefused(ILogger logger, string route, string provider, string reason);

    [LoggerMessage(6043, LogLevel.Warning, "Bearer token presented to route {Route} could not be checked with provider {Provider}: {Reason}.", EventName = "BearerProviderUnavailable")]
    public static partial void BearerProviderUnavailable(ILogger logger, string route, string provider, string reason);
}
