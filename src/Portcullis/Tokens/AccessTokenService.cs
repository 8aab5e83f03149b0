using Duende.IdentityModel.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Audit;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Primitives;
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

    /// <summary>Bound of one token request; it runs to completion whoever stops waiting for it, because a rotated
    /// refresh token the provider already issued must not be lost (SECURITY.md item 25, DESIGN.md invariant 10).</summary>
    private readonly TimeSpan _tokenRequestDeadline = options.Value.Refresh.TokenRequestDeadline;

    /// <summary>How long a request waits for a refresh of its grant (its own, another request's or another node's) before 503.</summary>
    private readonly TimeSpan _waitLimit = options.Value.Refresh.Timeout * 1.5;

    // Longer than a token request can take, so no other node presents the same refresh token while one is outstanding;
    // a crashed holder delays its users' refreshes by at most this much.
    private readonly TimeSpan _leaseDuration = options.Value.Refresh.TokenRequestDeadline + TimeSpan.FromSeconds(5);

    public async Task<Outcome<string>> GetAccessTokenAsync(string grantId, CancellationToken cancellationToken) =>
        await GetAccessTokenAsync(await grantStore.GetGrantAsync(grantId, cancellationToken), cancellationToken);

    /// <summary>
    /// The grant's access token, from a grant already read (with the session, in the same store round trip: no further
    /// store read unless it is due). Null when the grant is gone.
    /// </summary>
    public async Task<Outcome<string>> GetAccessTokenAsync(GrantRecord? grant, CancellationToken cancellationToken)
    {
        var tokens = grants.ReadTokens(grant);
        if (grant is null || tokens is null)
        {
            return PortcullisError.Unauthenticated;
        }

        var grantId = grant.Id;

        if (IsFresh(tokens) || IsWaitingOutAnUnknownOutcome(tokens))
        {
            return tokens.AccessToken;
        }

        var seenVersion = grant.Version;
        try
        {
            // The refresh runs detached from this request: a browser that goes away must not cancel a token
            // request whose rotated refresh token the provider has already issued.
            return await _refreshes.RunAsync(grantId, () => RefreshOnceAsync(grantId, seenVersion)).WaitAsync(_waitLimit, time, cancellationToken);
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
    public async Task<Outcome<string>> RefreshRejectedAsync(string grantId, string rejectedAccessToken, CancellationToken cancellationToken)
    {
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
            return await _refreshes.RunAsync(grantId, () => RefreshOnceAsync(grantId, grant.Version, rejectedAccessToken)).WaitAsync(_waitLimit, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            return PortcullisError.RefreshUnavailable;
        }
    }

    /// <summary>
    /// After a token request whose outcome is unknown, the access token is used until it really expires before the
    /// refresh token is presented again: the provider gets time to recover, and a provider that forgives a reused
    /// refresh token is asked only once more (ADR 0021).
    /// </summary>
    private bool IsWaitingOutAnUnknownOutcome(TokenSet tokens) =>
        tokens.RefreshOutcomeUnknownSince is not null && tokens.AccessTokenExpiresAt > time.GetUtcNow();

    private bool IsFresh(TokenSet tokens) =>
        (tokens.RefreshDueAt ?? tokens.AccessTokenExpiresAt - _skew) is not { } dueAt || dueAt > time.GetUtcNow();

    /// <summary>
    /// A token refreshed by someone else since <paramref name="seenVersion"/> is used as long as it is valid, even when
    /// its whole lifetime is shorter than the skew: otherwise every waiter would refresh again, one after the other.
    /// </summary>
    private bool IsUsable(GrantRecord grant, TokenSet tokens, long seenVersion, string? rejected) =>
        tokens.AccessToken != rejected
        && (IsFresh(tokens) || IsWaitingOutAnUnknownOutcome(tokens) || (grant.Version != seenVersion && tokens.AccessTokenExpiresAt > time.GetUtcNow()));

    private async Task<Outcome<string>> RefreshOnceAsync(string grantId, long seenVersion, string? rejected = null)
    {
        var leaseName = "refresh:" + grantId;
        var owner = Identifiers.NewId();
        var started = time.GetTimestamp();
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

            if (await leases.TryAcquireLeaseAsync(leaseName, owner, _leaseDuration, CancellationToken.None))
            {
                break;
            }

            if (time.GetElapsedTime(started) > _waitLimit)
            {
                return PortcullisError.RefreshUnavailable;
            }

            await Task.Delay(LeasePollInterval, time);
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

            using var deadline = new CancellationTokenSource(_tokenRequestDeadline, time);
            return await RefreshAsync(grant, tokens, deadline.Token);
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

        string tokenEndpoint;
        try
        {
            tokenEndpoint = (await provider.Metadata.GetConfigurationAsync(cancellationToken)).TokenEndpoint;
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception))
        {
            // Discovery failed: the token request was never sent.
            return await RefreshUnavailableAsync(grant, exception.GetType().Name);
        }

        TokenResponse response;
        try
        {
            var request = new RefreshTokenRequest { Address = tokenEndpoint, RefreshToken = tokens.RefreshToken };
            ProviderClient.Authenticate(request, provider.Options);
            response = await httpClientFactory.CreateClient(ProviderRegistry.TokenRequestClientName).RequestRefreshTokenAsync(request, cancellationToken);
        }
        catch (OperationCanceledException exception)
        {
            // Refresh:TokenRequestDeadline passed with the request sent and unanswered.
            return await OutcomeUnknownAsync(grant, tokens, exception.GetType().Name);
        }

        // Duende.IdentityModel turns a failed exchange into an error answer that carries the exception.
        if (response.ErrorType == ResponseErrorType.Exception && response.Exception is { } failure)
        {
            return ProviderErrors.MayHaveReachedProvider(failure)
                ? await OutcomeUnknownAsync(grant, tokens, failure.GetType().Name)
                : await RefreshUnavailableAsync(grant, failure.GetType().Name);
        }

        if (response.IsError)
        {
            var error = ProviderErrors.Sanitize(response.Error);
            Log.TokenRequestFailed(logger, grant.Provider, error, (int)response.HttpStatusCode);
            if (provider.Preset.IsInvalidGrant(response))
            {
                return await EndGrantAsync(grant, tokens.RefreshOutcomeUnknownSince is null ? "invalid_grant" : "invalid_grant after a refresh with an unknown outcome");
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

    private async Task<PortcullisError> RefreshUnavailableAsync(GrantRecord grant, string reason)
    {
        Log.TokenRequestFailed(logger, grant.Provider, reason, 0);
        await audit.RecordAsync(AuditEvents.RefreshFailed, AuditOutcomes.Failed, grant.UserId, grant.Provider, detail: reason);
        return PortcullisError.RefreshUnavailable;
    }

    /// <summary>
    /// The token request may have reached the provider, but no answer came back (deadline, connection reset). A
    /// provider that rotates refresh tokens may have spent ours into an answer nobody read; record that on the grant so
    /// the next refresh waits for the access token to expire, and say so in the log and the audit (ADR 0021).
    /// </summary>
    private async Task<PortcullisError> OutcomeUnknownAsync(GrantRecord grant, TokenSet tokens, string reason)
    {
        Log.RefreshOutcomeUnknown(logger, grant.Provider, reason);
        await audit.RecordAsync(AuditEvents.RefreshFailed, AuditOutcomes.Failed, grant.UserId, grant.Provider, detail: $"outcome unknown: {reason}");
        if (tokens.RefreshOutcomeUnknownSince is null)
        {
            var now = time.GetUtcNow();
            await SaveRefreshedAsync(grants.NextVersion(grant, tokens with { RefreshOutcomeUnknownSince = now }, now), grant.Version);
        }

        return PortcullisError.RefreshUnavailable;
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
