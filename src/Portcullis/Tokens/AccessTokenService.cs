using System.Diagnostics;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Audit;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Http;
using Portcullis.Sessions;
using Portcullis.Storage;
using Portcullis.Vault;

namespace Portcullis.Tokens;

/// <summary>
/// Gives a grant's current access token, refreshing it first when it is due (<c>Refresh:Skew</c>). A refresh happens
/// once however many requests need it: requests in this process share one refresh (<see cref="SingleFlight{T}"/>),
/// and nodes sharing the store take a lease in it before spending the refresh token, re-reading the grant after
/// they get it. The new tokens are persisted before any request uses them (SECURITY.md items 24–27).
/// </summary>
internal sealed class AccessTokenService(
    IGrantStore grantStore,
    ISessionStore sessionStore,
    ILeaseStore leases,
    StoreFailures storeFailures,
    GrantService grants,
    ProviderRegistry providers,
    IHttpClientFactory httpClientFactory,
    AuditLog audit,
    IOptions<PortcullisOptions> options,
    TimeProvider time,
    ILogger<AccessTokenService> logger)
{
    private static readonly TimeSpan LeasePollInterval = TimeSpan.FromMilliseconds(50);

    private readonly SingleFlight<Outcome<string>> _refreshes = new();
    private readonly TimeSpan _skew = options.Value.Refresh.Skew;

    /// <summary>Bound of one refresh (token request plus save); it runs to completion even if the browser goes away,
    /// because a rotated refresh token the provider already issued must not be lost (SECURITY.md item 25).</summary>
    private readonly TimeSpan _refreshTimeout = options.Value.Refresh.Timeout;

    /// <summary>How long a request waits for a refresh of its grant (its own, another request's or another node's) before 503.</summary>
    private readonly TimeSpan _waitLimit = options.Value.Refresh.Timeout * 1.5;

    // Longer than a refresh can take, so the lease outlives its holder's work; short enough that a crashed node
    // holds up its users' refreshes only briefly.
    private readonly TimeSpan _leaseDuration = options.Value.Refresh.Timeout + TimeSpan.FromSeconds(5);

    /// <summary>The session's access token, from the grant read with the session (no further store read unless it is due).</summary>
    public Task<Outcome<string>> GetAccessTokenAsync(CurrentSession session, CancellationToken cancellationToken) =>
        GetAccessTokenAsync(session.Grant, cancellationToken);

    public async Task<Outcome<string>> GetAccessTokenAsync(string grantId, CancellationToken cancellationToken) =>
        await GetAccessTokenAsync(await grantStore.GetGrantAsync(grantId, cancellationToken), cancellationToken);

    private async Task<Outcome<string>> GetAccessTokenAsync(GrantRecord? grant, CancellationToken cancellationToken)
    {
        var tokens = grants.ReadTokens(grant);
        if (grant is null || tokens is null)
        {
            return PortcullisError.Unauthenticated;
        }

        var grantId = grant.Id;

        if (IsFresh(tokens))
        {
            return tokens.AccessToken;
        }

        var seenVersion = grant.Version;
        try
        {
            // The refresh runs detached from this request: a browser that goes away must not cancel a token
            // request whose rotated refresh token the provider has already issued.
            return await _refreshes.RunAsync(grantId, () => RefreshOnceAsync(grantId, seenVersion)).WaitAsync(_waitLimit, cancellationToken);
        }
        catch (TimeoutException)
        {
            return PortcullisError.RefreshUnavailable;
        }
    }

    /// <summary>
    /// The upstream answered 401 to <paramref name="rejectedAccessToken"/>: refresh now, unless the stored access token
    /// already differs from it (refreshed meanwhile), in which case that one is returned.
    /// </summary>
    public async Task<Outcome<string>> RefreshRejectedAsync(CurrentSession session, string rejectedAccessToken, CancellationToken cancellationToken)
    {
        var grantId = session.Record.GrantId;
        var (grant, tokens) = await ReadAsync(grantId);
        if (grant is null || tokens is null)
        {
            return PortcullisError.ReauthenticationRequired;
        }

        if (tokens.AccessToken != rejectedAccessToken)
        {
            return tokens.AccessToken;
        }

        try
        {
            return await _refreshes.RunAsync(grantId, () => RefreshOnceAsync(grantId, grant.Version, rejectedAccessToken)).WaitAsync(_waitLimit, cancellationToken);
        }
        catch (TimeoutException)
        {
            return PortcullisError.RefreshUnavailable;
        }
    }

    private bool IsFresh(TokenSet tokens) =>
        (tokens.RefreshDueAt ?? tokens.AccessTokenExpiresAt - _skew) is not { } dueAt || dueAt > time.GetUtcNow();

    /// <summary>
    /// A token refreshed by someone else since <paramref name="seenVersion"/> is used as long as it is valid, even when
    /// its whole lifetime is shorter than the skew: otherwise every waiter would refresh again, one after the other.
    /// </summary>
    private bool IsUsable(GrantRecord grant, TokenSet tokens, long seenVersion, string? rejected) =>
        tokens.AccessToken != rejected && (IsFresh(tokens) || (grant.Version != seenVersion && tokens.AccessTokenExpiresAt > time.GetUtcNow()));

    private async Task<Outcome<string>> RefreshOnceAsync(string grantId, long seenVersion, string? rejected = null)
    {
        var leaseName = "refresh:" + grantId;
        var owner = Identifiers.NewId();
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var (grant, tokens) = await ReadAsync(grantId);
            if (grant is null || tokens is null)
            {
                return PortcullisError.ReauthenticationRequired; // ended meanwhile (invalid_grant elsewhere, logout everywhere)
            }

            if (IsUsable(grant, tokens, seenVersion, rejected))
            {
                return tokens.AccessToken;
            }

            if (await leases.TryAcquireLeaseAsync(leaseName, owner, time.GetUtcNow(), _leaseDuration, CancellationToken.None))
            {
                break;
            }

            if (waited.Elapsed > _waitLimit)
            {
                return PortcullisError.RefreshUnavailable;
            }

            await Task.Delay(LeasePollInterval);
        }

        try
        {
            // Another node may have refreshed and released its lease between our read and our acquisition.
            var (grant, tokens) = await ReadAsync(grantId);
            if (grant is null || tokens is null)
            {
                return PortcullisError.ReauthenticationRequired;
            }

            if (IsUsable(grant, tokens, seenVersion, rejected))
            {
                return tokens.AccessToken;
            }

            using var refreshTimeout = new CancellationTokenSource(_refreshTimeout);
            return await RefreshAsync(grant, tokens, refreshTimeout.Token);
        }
        finally
        {
            await leases.ReleaseLeaseAsync(leaseName, owner, CancellationToken.None);
        }
    }

    private async Task<(GrantRecord? Grant, TokenSet? Tokens)> ReadAsync(string grantId)
    {
        var grant = await grantStore.GetGrantAsync(grantId, CancellationToken.None);
        return (grant, grant is null ? null : grants.ReadTokens(grant));
    }

    private async Task<Outcome<string>> RefreshAsync(GrantRecord grant, TokenSet tokens, CancellationToken cancellationToken)
    {
        var provider = providers.Find(grant.Provider);
        if (tokens.RefreshToken is null || provider is null)
        {
            // Nothing to refresh with: the access token is still usable until it really expires.
            return tokens.AccessTokenExpiresAt > time.GetUtcNow() ? tokens.AccessToken : await EndGrantAsync(grant, "no refresh token");
        }

        TokenResponse response;
        try
        {
            var metadata = await provider.Metadata.GetConfigurationAsync(cancellationToken);
            var request = new RefreshTokenRequest { Address = metadata.TokenEndpoint, RefreshToken = tokens.RefreshToken };
            ProviderClient.Authenticate(request, provider.Options);
            response = await httpClientFactory.CreateClient(ProviderRegistry.HttpClientName).RequestRefreshTokenAsync(request, cancellationToken);
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception))
        {
            Log.TokenRequestFailed(logger, grant.Provider, exception.GetType().Name, 0);
            await audit.RecordAsync(AuditEvents.RefreshFailed, AuditOutcomes.Failed, grant.UserId, grant.Provider, detail: exception.GetType().Name);
            return PortcullisError.RefreshUnavailable;
        }

        if (response.IsError)
        {
            var error = ProviderErrors.Sanitize(response.Error);
            Log.TokenRequestFailed(logger, grant.Provider, error, (int)response.HttpStatusCode);
            if (provider.Preset.IsInvalidGrant(response))
            {
                return await EndGrantAsync(grant, "invalid_grant");
            }

            await audit.RecordAsync(AuditEvents.RefreshFailed, AuditOutcomes.Failed, grant.UserId, grant.Provider, detail: $"{error} (HTTP {(int)response.HttpStatusCode})");

            // Rate limited (Discord's 429 with retry_after): the session stays; tell the app when to retry.
            if (ProviderRetry.RetryAfterSeconds(response) is { } retryAfter)
            {
                Log.ProviderRateLimited(logger, grant.Provider, retryAfter);
                return PortcullisError.RefreshUnavailable with { RetryAfterSeconds = retryAfter };
            }

            return PortcullisError.RefreshUnavailable;
        }

        var now = time.GetUtcNow();
        var refreshed = TokenSet.Create(
            response.AccessToken!,
            // Rotation: keep the old refresh token only when the provider did not send a new one.
            response.RefreshToken ?? tokens.RefreshToken,
            response.IdentityToken ?? tokens.IdToken,
            response.ExpiresIn,
            response.Scope ?? tokens.Scope,
            now,
            _skew);
        var saved = await SaveRefreshedAsync(grants.NextVersion(grant, refreshed, now), grant.Version);
        await audit.RecordAsync(AuditEvents.Refresh, saved ? AuditOutcomes.Success : AuditOutcomes.Failed, grant.UserId, grant.Provider,
            detail: saved ? (response.RefreshToken is null ? "refresh token kept" : "refresh token rotated") : "lost a write race");
        return saved ? refreshed.AccessToken : PortcullisError.RefreshUnavailable;
    }

    /// <summary>
    /// The provider has already rotated the refresh token: losing this write would lose the grant. A store that is
    /// briefly unreachable (restart, failover) is retried for as long as this node holds the refresh lease.
    /// </summary>
    private async Task<bool> SaveRefreshedAsync(GrantRecord next, long expectedVersion)
    {
        var deadline = time.GetUtcNow() + _leaseDuration;
        while (true)
        {
            try
            {
                return await grantStore.SaveGrantAsync(next, expectedVersion, CancellationToken.None);
            }
            catch (Exception exception) when (storeFailures.IsUnavailable(exception) && time.GetUtcNow() < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), time);
            }
        }
    }

    /// <summary><c>invalid_grant</c>: the provider no longer honours this grant, so neither do we (SECURITY.md item 26).</summary>
    private async Task<PortcullisError> EndGrantAsync(GrantRecord grant, string reason)
    {
        await grantStore.DeleteGrantAsync(grant.Id, CancellationToken.None);
        await sessionStore.DeleteSessionsForGrantAsync(grant.Id, CancellationToken.None);
        Log.ReauthenticationRequired(logger, grant.Provider, grant.UserId);
        await audit.RecordAsync(AuditEvents.ReauthenticationRequired, AuditOutcomes.Success, grant.UserId, grant.Provider, detail: reason);
        return PortcullisError.ReauthenticationRequired;
    }
}
