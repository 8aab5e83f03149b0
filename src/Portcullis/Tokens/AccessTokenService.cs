using System.Diagnostics;
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
/// they get it. The lease is renewed while the token request runs and expires by the store's clock; the grant's version
/// fences every write, and a marker on the grant (<see cref="TokenSet.RefreshStartedAt"/>) tells a node that took over
/// a lost lease that a token request may still be outstanding (ADR 0022). The new tokens are persisted before any
/// request uses them (SECURITY.md items 24–27), or, when the store is out of reach, kept on this node and saved in the
/// background (<see cref="PendingGrantSaves"/>).
/// </summary>
internal sealed class AccessTokenService(
    IGrantStore grantStore,
    ISessionStore sessionStore,
    ILeaseStore leases,
    StoreFailures storeFailures,
    PendingGrantSaves pendingSaves,
    GrantService grants,
    ProviderRegistry providers,
    IdTokenValidator idTokens,
    RevocationQueue revocations,
    IHttpClientFactory httpClientFactory,
    AuditLog audit,
    PortcullisMetrics metrics,
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

    // Independent of the deadline: renewed every third of it while the token request runs (ADR 0022).
    private readonly TimeSpan _leaseDuration = options.Value.Refresh.LeaseDuration;

    public async Task<Outcome<string>> GetAccessTokenAsync(string grantId, CancellationToken cancellationToken, TokenAudience? audience = null) =>
        await GetAccessTokenAsync(await grantStore.GetGrantAsync(grantId, cancellationToken), audience, cancellationToken);

    public ValueTask<Outcome<string>> GetAccessTokenAsync(GrantRecord? grant, CancellationToken cancellationToken) =>
        GetAccessTokenAsync(grant, null, cancellationToken);

    /// <summary>
    /// The grant's access token, from a grant already read (with the session, in the same store round trip: no further
    /// store read unless it is due). Null when the grant is gone. With <paramref name="audience"/>, the grant's token
    /// for that API alone (ADR 0043): never the grant's own token nor another API's, obtained when missing or due, under
    /// the same single-flight and lease as the grant's own refresh, since it may spend the same refresh token.
    /// </summary>
    /// <remarks>A <see cref="ValueTask{TResult}"/>: on the proxy's hot path the token is fresh and nothing is awaited, so nothing is allocated.</remarks>
    public async ValueTask<Outcome<string>> GetAccessTokenAsync(GrantRecord? grant, TokenAudience? audience, CancellationToken cancellationToken)
    {
        grant = pendingSaves.Overlay(grant);
        var tokens = grants.ReadTokens(grant);
        if (grant is null || tokens is null)
        {
            return PortcullisError.Unauthenticated;
        }

        if (audience is not null && AudienceTokens.Refusal(grant, tokens, audience) is { } refusal)
        {
            Log.AudienceTokenRefused(logger, audience.Provider, audience.Value, refusal.Message);
            return refusal;
        }

        var current = AudienceTokens.Current(tokens, audience);
        if (current is { } usable && (IsFresh(usable) || IsWaitingOutAnUnknownOutcome(tokens, usable)))
        {
            return usable.AccessToken;
        }

        return await RefreshDueAsync(grant, current, audience, cancellationToken);
    }

    /// <summary>The token is missing or due: refreshed (or exchanged) single-flight. Apart, so the fresh path above allocates no closure.</summary>
    private async Task<Outcome<string>> RefreshDueAsync(GrantRecord grant, CurrentToken? current, TokenAudience? audience, CancellationToken cancellationToken)
    {
        if (audience is { Exchange: true } && await GetAccessTokenAsync(grant, null, cancellationToken) is { Error: { } subjectError })
        {
            return subjectError; // the token to exchange is itself unavailable
        }

        var request = new RefreshRequest(grant.Id, grant.Version, current?.AccessToken, null, audience);
        try
        {
            // The refresh runs detached from this request: a browser that goes away must not cancel a token
            // request whose rotated refresh token the provider has already issued.
            return await _refreshes.RunAsync(request.FlightKey, () => RefreshOnceAsync(request)).WaitAsync(_waitLimit, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            return PortcullisError.RefreshUnavailable;
        }
    }

    /// <summary>
    /// The upstream answered 401 to <paramref name="rejectedAccessToken"/>: refresh now, unless the stored access token
    /// already differs from it (refreshed meanwhile), in which case that one is returned. With <paramref name="audience"/>,
    /// the same for that API's token.
    /// </summary>
    public async Task<Outcome<string>> RefreshRejectedAsync(string grantId, string rejectedAccessToken, CancellationToken cancellationToken, TokenAudience? audience = null)
    {
        var (grant, tokens) = await ReadAsync(grantId);
        if (grant is null || tokens is null)
        {
            return PortcullisError.ReauthenticationRequired;
        }

        if (AudienceTokens.Current(tokens, audience) is { } current && current.AccessToken != rejectedAccessToken)
        {
            return current.AccessToken;
        }

        if (audience is { Exchange: true } && await GetAccessTokenAsync(grant, null, cancellationToken) is { Error: { } subjectError })
        {
            return subjectError;
        }

        var request = new RefreshRequest(grantId, grant.Version, rejectedAccessToken, rejectedAccessToken, audience);
        try
        {
            return await _refreshes.RunAsync(request.FlightKey, () => RefreshOnceAsync(request)).WaitAsync(_waitLimit, time, cancellationToken);
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
    private bool IsWaitingOutAnUnknownOutcome(TokenSet tokens, CurrentToken current) =>
        tokens.RefreshOutcomeUnknownSince is not null && current.ExpiresAt > time.GetUtcNow();

    private bool IsFresh(CurrentToken current) =>
        (current.DueAt ?? current.ExpiresAt - _skew) is not { } dueAt || dueAt > time.GetUtcNow();

    /// <summary>
    /// A token refreshed by someone else since the request saw the grant is used as long as it is valid, even when its
    /// whole lifetime is shorter than the skew: otherwise every waiter would refresh again, one after the other. For the
    /// grant's own token a newer version says so, unless it only marks a refresh as started (ADR 0022): its waiters wait
    /// for the answer. An API's token says so itself by differing from the one seen.
    /// </summary>
    private bool IsUsable(GrantRecord grant, TokenSet tokens, RefreshRequest request, out string accessToken)
    {
        accessToken = "";
        if (AudienceTokens.Current(tokens, request.Audience) is not { } current || current.AccessToken == request.Rejected)
        {
            return false;
        }

        accessToken = current.AccessToken;
        var refreshedMeanwhile = request.Audience is null
            ? grant.Version != request.SeenVersion && tokens.RefreshStartedAt is null
            : current.AccessToken != request.SeenToken;
        return IsFresh(current)
            || IsWaitingOutAnUnknownOutcome(tokens, current)
            || (refreshedMeanwhile && current.ExpiresAt > time.GetUtcNow());
    }

    private async Task<Outcome<string>> RefreshOnceAsync(RefreshRequest request)
    {
        using var activity = PortcullisTelemetry.Source.StartActivity("portcullis.refresh");
        var attempt = new RefreshAttempt(time.GetTimestamp());
        var result = await LeaseAndRefreshAsync(request, attempt);
        if (attempt.Outcome is { } outcome)
        {
            metrics.RefreshCompleted(attempt.Provider!, outcome, time.GetElapsedTime(attempt.Started));
            activity?.SetTag("portcullis.provider", attempt.Provider);
            activity?.SetTag("portcullis.refresh.outcome", outcome);
            if (outcome != RefreshOutcomes.Success)
            {
                activity?.SetStatus(ActivityStatusCode.Error, outcome);
            }
        }
        else
        {
            // Nobody asked the provider: another request, node or the store had what was needed.
            activity?.SetTag("portcullis.refresh.outcome", "not_needed");
        }

        return result;
    }

    private async Task<Outcome<string>> LeaseAndRefreshAsync(RefreshRequest request, RefreshAttempt attempt)
    {
        var (grantId, started) = (request.GrantId, attempt.Started);
        RefreshLease? lease;
        using var leaseWait = PortcullisTelemetry.Source.StartActivity("portcullis.refresh.lease_wait");
        while (true)
        {
            var (grant, tokens) = await ReadAsync(grantId);
            if (grant is null || tokens is null)
            {
                return PortcullisError.ReauthenticationRequired; // ended meanwhile (invalid_grant elsewhere, logout everywhere)
            }

            if (IsUsable(grant, tokens, request, out var meanwhile))
            {
                return meanwhile;
            }

            // One lease per grant, whichever token is wanted: every token request may spend the grant's refresh token.
            var providerName = grant.Provider;
            lease = await RefreshLease.TryAcquireAsync(leases, grantId, _leaseDuration, time, () => Log.RefreshLeaseLost(logger, providerName));
            if (lease is not null)
            {
                leaseWait?.Dispose();
                break;
            }

            if (time.GetElapsedTime(started) > _waitLimit)
            {
                return PortcullisError.RefreshUnavailable;
            }

            await Task.Delay(LeasePollInterval, time);
        }

        await using (lease)
        {
            // Another node may have refreshed and released its lease between our read and our acquisition.
            var (grant, tokens) = await ReadAsync(grantId);
            if (grant is null || tokens is null)
            {
                return PortcullisError.ReauthenticationRequired;
            }

            if (IsUsable(grant, tokens, request, out var meanwhile))
            {
                return meanwhile;
            }

            if (tokens.RefreshStartedAt is { } startedElsewhere)
            {
                if (OutstandingElsewhere(grant, AudienceTokens.Current(tokens, request.Audience), startedElsewhere, request.Rejected) is { } outstanding)
                {
                    return outstanding;
                }

                // The node that sent it never finished: the one loss no gateway can prevent if it had read a rotated
                // refresh token (docs/reliability.md). Recorded as an unknown outcome, so an invalid_grant now is
                // audited as what it is rather than as an ordinary revocation by the provider.
                Log.RefreshTakenOverAfterUnknownOutcome(logger, grant.Provider, (long)(time.GetUtcNow() - startedElsewhere).TotalSeconds);
                tokens = tokens with { RefreshOutcomeUnknownSince = tokens.RefreshOutcomeUnknownSince ?? startedElsewhere };
            }

            using var deadline = new CancellationTokenSource(_tokenRequestDeadline, time);
            return request.Audience is { Exchange: true } exchanged
                ? await ExchangeAsync(grant, tokens, exchanged, attempt, deadline.Token)
                : await RefreshAsync(grant, tokens, request.Audience, attempt, deadline.Token);
        }
    }

    /// <summary>
    /// The lease was free, yet the grant says a token request started (<paramref name="startedAt"/>) and never ended here:
    /// its node froze or died past its lease (in-process refreshes of one grant are single-flight, so it is not ours). It
    /// may still be waiting for its answer, which the grant's version lets it save as long as nothing newer was written:
    /// until its deadline has passed nobody presents the refresh token again; the current access token is used while it
    /// is valid, else 503. After that deadline the outcome is unknown (ADR 0021): null, the refresh goes ahead once the
    /// access token has expired.
    /// </summary>
    private Outcome<string>? OutstandingElsewhere(GrantRecord grant, CurrentToken? current, DateTimeOffset startedAt, string? rejected)
    {
        var now = time.GetUtcNow();
        var stillValid = current is { } token && token.AccessToken != rejected && token.ExpiresAt > now;
        if (now < startedAt + _tokenRequestDeadline)
        {
            Log.RefreshOutstandingElsewhere(logger, grant.Provider, (long)(now - startedAt).TotalSeconds);
            return stillValid ? (Outcome<string>)current!.Value.AccessToken : PortcullisError.RefreshUnavailable;
        }

        return stillValid ? (Outcome<string>)current!.Value.AccessToken : (Outcome<string>?)null;
    }

    private async Task<(GrantRecord? Grant, TokenSet? Tokens)> ReadAsync(string grantId)
    {
        var grant = pendingSaves.Overlay(await grantStore.GetGrantAsync(grantId, CancellationToken.None));
        return (grant, grant is null ? null : grants.ReadTokens(grant));
    }

    /// <summary>
    /// A refresh: of the grant's own tokens, or, with <paramref name="audience"/>, for that API's token (RFC 8707
    /// <c>resource</c> or an <c>audience</c> parameter). Either may rotate the refresh token, so both go through the same
    /// marker, fence and save, and each keeps what the other obtained.
    /// </summary>
    private async Task<Outcome<string>> RefreshAsync(GrantRecord grant, TokenSet tokens, TokenAudience? audience, RefreshAttempt attempt, CancellationToken cancellationToken)
    {
        attempt.Provider = grant.Provider;
        var provider = providers.Find(grant.Provider);
        if (tokens.RefreshToken is null || provider is null)
        {
            if (audience is not null)
            {
                return AudienceTokens.NoRefreshToken;
            }

            // Nothing to refresh with: the access token is still usable until it really expires.
            return tokens.AccessTokenExpiresAt > time.GetUtcNow() ? tokens.AccessToken : await EndGrantAsync(grant, "no refresh token");
        }

        if (audience is not null && tokens.RefreshOutcomeUnknownSince is not null && tokens.AccessTokenExpiresAt > time.GetUtcNow())
        {
            // The grant's last refresh may have rotated its refresh token into an answer nobody read: it is presented
            // again only once the grant's own access token has expired (ADR 0021), not sooner for an API's token.
            return PortcullisError.RefreshUnavailable;
        }

        var discovery = await TokenEndpointAsync(provider, attempt, cancellationToken);
        if (discovery.Endpoint is not { } tokenEndpoint)
        {
            return await RefreshUnavailableAsync(grant, discovery.Failure!);
        }

        // The marker goes into the store before the request leaves: a node that takes over a lost lease then knows a
        // token request may be outstanding. Saved over the version read, it is also the fence before sending: of two
        // nodes that both believe they hold the lease, only one gets this write through (ADR 0022).
        var now = time.GetUtcNow();
        var marked = tokens with { RefreshStartedAt = now };
        var markedGrant = grants.NextVersion(grant, marked, now);
        if (!await grantStore.SaveGrantAsync(markedGrant, grant.Version, CancellationToken.None))
        {
            return await ReadAsync(grant.Id) is (not null, { } newerTokens) && AudienceTokens.Current(newerTokens, audience) is { } newer && newer.ExpiresAt > time.GetUtcNow()
                ? newer.AccessToken
                : PortcullisError.RefreshUnavailable;
        }

        (grant, tokens) = (markedGrant, marked);
        TokenResponse response;
        try
        {
            response = await RefreshTokenExchange.SendAsync(provider, tokenEndpoint, tokens, httpClientFactory, time, cancellationToken, audience);
        }
        catch (OperationCanceledException exception)
        {
            // Refresh:TokenRequestDeadline passed with the request sent and unanswered.
            attempt.Outcome = RefreshOutcomes.Timeout;
            return await OutcomeUnknownAsync(grant, tokens, exception.GetType().Name);
        }

        // Duende.IdentityModel turns a failed exchange into an error answer that carries the exception.
        if (response.ErrorType == ResponseErrorType.Exception && response.Exception is { } failure)
        {
            attempt.Outcome = RefreshOutcomes.Error;
            return ProviderErrors.MayHaveReachedProvider(failure)
                ? await OutcomeUnknownAsync(grant, tokens, failure.GetType().Name)
                : await RefreshUnavailableAsync(grant, failure.GetType().Name, tokens);
        }

        if (response.IsError)
        {
            var error = ProviderErrors.Sanitize(response.Error);
            Log.TokenRequestFailed(logger, grant.Provider, error, (int)response.HttpStatusCode);
            attempt.Outcome = RefreshOutcomes.Error;
            if (provider.Preset.IsInvalidGrant(response))
            {
                attempt.Outcome = RefreshOutcomes.InvalidGrant;
                return await EndGrantAsync(grant, tokens.RefreshOutcomeUnknownSince is null ? "invalid_grant" : "invalid_grant after a refresh with an unknown outcome");
            }

            await audit.RecordAsync(AuditEvents.RefreshFailed, AuditOutcomes.Failed, grant.UserId, grant.Provider, detail: $"{error} (HTTP {(int)response.HttpStatusCode})");
            // The provider answered: the refresh token was not spent, so no request is outstanding any more.
            await SaveBestEffortAsync(grant, tokens with { RefreshStartedAt = null });

            // Rate limited (Discord's 429 with retry_after): the session stays; tell the app when to retry.
            if (ProviderRetry.RetryAfterSeconds(response) is { } retryAfter)
            {
                Log.ProviderRateLimited(logger, grant.Provider, retryAfter);
                return PortcullisError.RefreshUnavailable with { RetryAfterSeconds = retryAfter };
            }

            return PortcullisError.RefreshUnavailable;
        }

        var idToken = response.IdentityToken is { } refreshedIdToken && provider.Preset.IsOpenIdConnect
            ? await idTokens.ValidateRefreshedAsync(provider, refreshedIdToken, tokens.IdToken, cancellationToken)
            : RefreshedIdToken.Accepted;
        if (idToken == RefreshedIdToken.Refused)
        {
            // Tokens that may be another user's, or nobody's the provider vouches for: never used for this user. The
            // grant ends, and the refresh token the provider may just have issued is revoked (issue 17 item 9).
            attempt.Outcome = RefreshOutcomes.Error;
            await revocations.EnqueueAsync(grant.Provider, grant.UserId, response.RefreshToken ?? tokens.RefreshToken, "refresh_token", tokenExpiresAt: null);
            return await EndGrantAsync(grant, "refreshed id_token refused");
        }

        now = time.GetUtcNow();
        // The API's token joins the grant (its own access token stays); the refresh token rotates the same way either way.
        var refreshed = audience is null
            ? RefreshTokenExchange.Refreshed(response, tokens, now, _skew)
            : RefreshTokenLifetime.Apply(
                tokens with
                {
                    RefreshToken = response.RefreshToken ?? tokens.RefreshToken,
                    IdToken = response.IdentityToken ?? tokens.IdToken,
                    RefreshStartedAt = null,
                    RefreshOutcomeUnknownSince = null,
                    AudienceTokens = AudienceTokens.With(tokens, audience, response, now, _skew),
                },
                response,
                now,
                previous: tokens);
        if (idToken == RefreshedIdToken.Unverifiable)
        {
            refreshed = refreshed with { IdToken = tokens.IdToken };
        }

        var saved = await SaveRefreshedAsync(grants.NextVersion(grant, refreshed, now), grant.Version);
        attempt.Outcome = saved ? RefreshOutcomes.Success : RefreshOutcomes.Error;
        await audit.RecordAsync(AuditEvents.Refresh, saved ? AuditOutcomes.Success : AuditOutcomes.Failed, grant.UserId, grant.Provider,
            detail: (saved ? (response.RefreshToken is null ? "refresh token kept" : "refresh token rotated") : "lost a write race")
                + (audience is null ? "" : $" ({audience.Parameter} {audience.Value})"));
        if (!saved)
        {
            await RevokeIfTheGrantEndedAsync(grant, response.RefreshToken);
            return PortcullisError.RefreshUnavailable;
        }

        return AudienceTokens.Current(refreshed, audience)!.Value.AccessToken;
    }

    /// <summary>
    /// RFC 8693 token exchange for <paramref name="audience"/>: the grant's access token (fresh: the caller obtained it
    /// first) as <c>subject_token</c>. No refresh token is spent, so an answer that goes missing costs nothing but a retry;
    /// the lease still makes it one request per grant and API.
    /// </summary>
    private async Task<Outcome<string>> ExchangeAsync(GrantRecord grant, TokenSet tokens, TokenAudience audience, RefreshAttempt attempt, CancellationToken cancellationToken)
    {
        attempt.Provider = grant.Provider;
        if (providers.Find(grant.Provider) is not { } provider)
        {
            return await RefreshUnavailableAsync(grant, "provider no longer configured");
        }

        var discovery = await TokenEndpointAsync(provider, attempt, cancellationToken);
        if (discovery.Endpoint is not { } tokenEndpoint)
        {
            return await RefreshUnavailableAsync(grant, discovery.Failure!);
        }

        TokenResponse response;
        try
        {
            response = await ProviderClient.WithDPoPAsync(provider, tokenEndpoint, tokens.DPoPKey, proof =>
            {
                var request = AudienceTokens.Exchange(tokenEndpoint, tokens.AccessToken, audience, proof);
                ProviderClient.Authenticate(request, provider);
                return httpClientFactory.CreateClient(ProviderRegistry.TokenRequestClientName).RequestTokenExchangeTokenAsync(request, cancellationToken);
            }, time);
        }
        catch (OperationCanceledException exception)
        {
            attempt.Outcome = RefreshOutcomes.Timeout;
            return await RefreshUnavailableAsync(grant, exception.GetType().Name);
        }

        if (response.IsError || string.IsNullOrEmpty(response.AccessToken))
        {
            attempt.Outcome = RefreshOutcomes.Error;
            var error = ProviderErrors.Sanitize(response.ErrorType == ResponseErrorType.Exception ? response.Exception?.GetType().Name ?? "exception" : response.Error ?? "no access_token");
            Log.TokenRequestFailed(logger, grant.Provider, error, (int)response.HttpStatusCode);
            await audit.RecordAsync(AuditEvents.RefreshFailed, AuditOutcomes.Failed, grant.UserId, grant.Provider, detail: $"token exchange for {audience.Parameter} {audience.Value}: {error}");
            // The provider's considered refusal (not allowed, unknown target) is no outage: no point in retrying soon.
            return response.ErrorType == ResponseErrorType.Protocol && (int)response.HttpStatusCode is >= 400 and < 500 and not 429
                ? AudienceTokens.ExchangeRefused
                : PortcullisError.RefreshUnavailable;
        }

        var now = time.GetUtcNow();
        var exchanged = tokens with { AudienceTokens = AudienceTokens.With(tokens, audience, response, now, _skew) };
        // Fenced like any write; lost to a newer grant, the token is still good for this request and is simply obtained again.
        var saved = await SaveRefreshedAsync(grants.NextVersion(grant, exchanged, now), grant.Version);
        attempt.Outcome = RefreshOutcomes.Success;
        Log.AudienceTokenExchanged(logger, grant.Provider, audience.Value, saved);
        await audit.RecordAsync(AuditEvents.Refresh, AuditOutcomes.Success, grant.UserId, grant.Provider, detail: $"token exchange for {audience.Parameter} {audience.Value}");
        return AudienceTokens.Current(exchanged, audience)!.Value.AccessToken;
    }

    /// <summary>The provider's token endpoint, or why discovery failed (then no token request was sent).</summary>
    private static async Task<(string? Endpoint, string? Failure)> TokenEndpointAsync(ProviderRuntime provider, RefreshAttempt attempt, CancellationToken cancellationToken)
    {
        try
        {
            return ((await provider.Metadata.GetConfigurationAsync(cancellationToken)).TokenEndpoint, null);
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception))
        {
            attempt.Outcome = RefreshOutcomes.Error;
            return (null, exception.GetType().Name);
        }
    }

    /// <summary>
    /// The token request never reached the provider. With <paramref name="marked"/> (the tokens as saved with the
    /// in-flight marker, the request having been about to leave) the marker is taken off again.
    /// </summary>
    private async Task<PortcullisError> RefreshUnavailableAsync(GrantRecord grant, string reason, TokenSet? marked = null)
    {
        Log.TokenRequestFailed(logger, grant.Provider, reason, 0);
        await audit.RecordAsync(AuditEvents.RefreshFailed, AuditOutcomes.Failed, grant.UserId, grant.Provider, detail: reason);
        if (marked is not null)
        {
            await SaveBestEffortAsync(grant, marked with { RefreshStartedAt = null });
        }

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
        await SaveBestEffortAsync(grant, tokens with { RefreshOutcomeUnknownSince = tokens.RefreshOutcomeUnknownSince ?? time.GetUtcNow(), RefreshStartedAt = null });
        return PortcullisError.RefreshUnavailable;
    }

    /// <summary>
    /// Bookkeeping on the grant (marker off, outcome unknown), fenced by its version. Not worth a retry: if it does not
    /// land, the marker left behind makes other nodes wait out the deadline and then treat the outcome as unknown.
    /// </summary>
    private async Task SaveBestEffortAsync(GrantRecord grant, TokenSet tokens)
    {
        try
        {
            var now = time.GetUtcNow();
            await grantStore.SaveGrantAsync(grants.NextVersion(grant, tokens, now), grant.Version, CancellationToken.None);
        }
        catch (Exception exception) when (storeFailures.IsUnavailable(exception))
        {
        }
    }

    /// <summary>
    /// The provider has already rotated the refresh token: losing this write would lose the grant. It is fenced by the
    /// version this node marked (a holder that lost its lease cannot overwrite a newer grant); when the store is out of
    /// reach, the grant is kept in this node's memory, used by its requests, and saved in the background (ADR 0022).
    /// </summary>
    private async Task<bool> SaveRefreshedAsync(GrantRecord next, long expectedVersion)
    {
        try
        {
            return await grantStore.SaveGrantAsync(next, expectedVersion, CancellationToken.None);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // Whatever the store said, not only "unavailable" (a failover's read-only replica, a full disk): the refresh
            // token is spent, and these tokens are the grant now.
            pendingSaves.Add(next, expectedVersion, exception.GetType().Name);
            return true;
        }
    }

    /// <summary>
    /// The refreshed grant could not be saved because the grant ended while its token request was out (a logout in
    /// another tab, a back-channel logout): the logout revoked the refresh token it found, which this refresh had spent.
    /// The rotated one the provider has just issued would otherwise outlive the grant unrevoked, with providers that do
    /// not end the whole grant when a spent refresh token is revoked.
    /// </summary>
    private async Task RevokeIfTheGrantEndedAsync(GrantRecord grant, string? rotatedRefreshToken)
    {
        if (rotatedRefreshToken is null || await grantStore.GetGrantAsync(grant.Id, CancellationToken.None) is not null)
        {
            return;
        }

        Log.RefreshAnsweredAfterTheGrantEnded(logger, grant.Provider, grant.UserId);
        await revocations.EnqueueAsync(grant.Provider, grant.UserId, rotatedRefreshToken, "refresh_token", tokenExpiresAt: null);
    }

    /// <summary><c>invalid_grant</c>: the provider no longer honours this grant, so neither do we (SECURITY.md item 26).</summary>
    private async Task<PortcullisError> EndGrantAsync(GrantRecord grant, string reason)
    {
        await grantStore.DeleteGrantAsync(grant.Id, CancellationToken.None);
        metrics.SessionsEnded(SessionEndReasons.Reauthentication, await sessionStore.DeleteSessionsForGrantAsync(grant.Id, CancellationToken.None));
        Log.ReauthenticationRequired(logger, grant.Provider, grant.UserId);
        await audit.RecordAsync(AuditEvents.ReauthenticationRequired, AuditOutcomes.Success, grant.UserId, grant.Provider, detail: reason);
        return PortcullisError.ReauthenticationRequired;
    }
}

/// <summary>What one refresh did, for its metric and span: set once a token request was sent or about to be.</summary>
internal sealed class RefreshAttempt(long started)
{
    public long Started { get; } = started;

    public string? Provider { get; set; }

    /// <summary>A <see cref="RefreshOutcomes"/> value; null while no token request was made.</summary>
    public string? Outcome { get; set; }
}
