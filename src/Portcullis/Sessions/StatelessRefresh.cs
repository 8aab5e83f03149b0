using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Duende.IdentityModel.Client;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Primitives;
using Portcullis.Storage;
using Portcullis.Tokens;
using Portcullis.Vault;

namespace Portcullis.Sessions;

/// <summary>
/// Refresh without a store (ADR 0033). Requests on this node that carry the same refresh token share one token request
/// (<see cref="SingleFlight{T}"/> keyed by the token's SHA-256), and its result is kept for <see cref="ResultLifetime"/>
/// under that key, so stragglers that still carry the old cookies get the new tokens (and write the new cookies) instead
/// of presenting a spent refresh token again. With <c>Session:StatelessRefreshCoordinator</c> the flight is cross-node
/// (<see cref="IRefreshCoordinator"/>): the node that takes the lock refreshes and publishes the result sealed with the
/// key ring; the others wait for it. Without it (or with the coordinator unreachable) two nodes may refresh the same
/// cookie at once (ADR 0033 says what follows). The refresh runs detached from the request: a rotated refresh token the provider has
/// issued is still kept for the stragglers if the browser that asked went away.
/// </summary>
internal sealed class StatelessRefresh(
    ProviderRegistry providers,
    IdTokenValidator idTokens,
    RevocationService revocations,
    IHttpClientFactory httpClientFactory,
    IDataProtectionProvider dataProtection,
    IEnumerable<IRefreshCoordinator> coordinators,
    PortcullisMetrics metrics,
    IOptions<PortcullisOptions> options,
    TimeProvider time,
    ILogger<StatelessRefresh> logger)
{
    /// <summary>How long a refresh's result stays available to requests carrying the refresh token it spent.</summary>
    public static readonly TimeSpan ResultLifetime = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long one exchange with the coordinator may take before this node stops waiting for it. A Redis that is down
    /// refuses at once, but one that hangs (a paused server, a dropped link) held the refresh for the client's own
    /// timeouts, 5 s per command with StackExchange.Redis's defaults and more while it connects (15 s for a first refresh
    /// in RefreshCoordinatorFaultTests): about the wait a request gives a refresh. A coordinator answers in
    /// milliseconds; after this it counts as unreachable and this node refreshes on its own (warning 6011).
    /// </summary>
    internal static readonly TimeSpan CoordinatorStepLimit = TimeSpan.FromSeconds(2);

    private readonly SingleFlight<Outcome<TokenSet>> _flights = new();
    private readonly ConcurrentDictionary<string, (Outcome<TokenSet> Result, DateTimeOffset Until)> _recent = new(StringComparer.Ordinal);
    private readonly TimeSpan _skew = options.Value.Refresh.Skew;
    private readonly TimeSpan _tokenRequestDeadline = options.Value.Refresh.TokenRequestDeadline;
    private readonly TimeSpan _waitLimit = options.Value.Refresh.Timeout * 1.5;

    // Null unless Session:StatelessRefreshCoordinator is set (SessionModeValidator refuses it outside stateless mode).
    private readonly IRefreshCoordinator? _coordinator = string.IsNullOrEmpty(options.Value.Session.StatelessRefreshCoordinator) ? null : coordinators.LastOrDefault();
    private readonly IDataProtector _results = dataProtection.CreateProtector(ProtectionPurposes.StatelessRefreshResult);

    public bool IsFresh(TokenSet tokens) =>
        (tokens.RefreshDueAt ?? tokens.AccessTokenExpiresAt - _skew) is not { } dueAt || dueAt > time.GetUtcNow();

    /// <summary>New tokens for <paramref name="tokens"/> (which carry the refresh token), or why there are none.</summary>
    public async Task<Outcome<TokenSet>> RefreshAsync(string provider, string userId, TokenSet tokens, CancellationToken cancellationToken)
    {
        var key = Identifiers.Hash(tokens.RefreshToken!);
        if (Recent(key) is { } recent)
        {
            return await UnlessLoggedOutAsync(key, recent, userId);
        }

        try
        {
            return await _flights.RunAsync(key, () => _coordinator is null ? RefreshOnceAsync(key, provider, userId, tokens) : CoordinatedAsync(_coordinator, key, provider, userId, tokens)).WaitAsync(_waitLimit, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            return PortcullisError.RefreshUnavailable;
        }
    }

    /// <summary>
    /// A result kept on this node or published by another (never one this request's own flight has just obtained from
    /// the provider) is refused when a logout on any node has ended its session:
    /// logout drops kept results only on the node that answers it (<see cref="ForgetAsync"/>), so the others ask the
    /// coordinator for its tombstone, under the spent refresh token or the one the result carries. Without this a copy of
    /// the cookies from before the refresh, replayed on another node within <see cref="ResultLifetime"/>, was handed the
    /// tokens the logout had just revoked (ADR 0033). A coordinator that cannot answer lets the result through
    /// (warning 6011), as it lets a refresh go on on this node alone.
    /// </summary>
    private async Task<Outcome<TokenSet>> UnlessLoggedOutAsync(string spentKey, Outcome<TokenSet> result, string userId)
    {
        if (_coordinator is null || result.Value?.RefreshToken is not { } issued)
        {
            return result;
        }

        string?[] tombstones;
        try
        {
            tombstones = await Bounded(
                Task.WhenAll(
                    _coordinator.ReadResultAsync(TombstoneKey(spentKey), CancellationToken.None),
                    _coordinator.ReadResultAsync(TombstoneKey(Identifiers.Hash(issued)), CancellationToken.None)),
                CancellationToken.None);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            Log.RefreshCoordinatorUnavailable(logger, exception.GetType().Name);
            return result;
        }

        if (tombstones.All(tombstone => tombstone is null))
        {
            return result;
        }

        _recent.TryRemove(spentKey, out _);
        Log.StatelessResultOfLoggedOutSessionRefused(logger, userId);
        return PortcullisError.ReauthenticationRequired;
    }

    /// <summary>
    /// Where a logout marks a refresh token as ended, beside the results (a refresh token's hash is base64url, never
    /// holding ':'). Only its presence counts, so it holds no secret.
    /// </summary>
    private static string TombstoneKey(string refreshTokenHash) => "ended:" + refreshTokenHash;

    /// <summary>
    /// The cross-node flight: a result another node published is used; otherwise the node that takes the lock refreshes
    /// and publishes, and the others poll for the result until the wait limit. The coordinator unreachable or hung before
    /// this node has seen the lock held by another: this node refreshes on its own (warning 6011), never failing the
    /// request for it. Once another node was seen holding the lock, that node may be presenting the token right now: a
    /// failing coordinator then only means "nothing published yet", and this node waits to the limit, never presenting
    /// the token itself (ADR 0033; security review of the step limit).
    /// </summary>
    private async Task<Outcome<TokenSet>> CoordinatedAsync(IRefreshCoordinator coordinator, string key, string provider, string userId, TokenSet tokens)
    {
        using var deadline = new CancellationTokenSource(_waitLimit, time);
        var presented = false;
        var sawHolder = false;
        try
        {
            while (true)
            {
                try
                {
                    if (await ReadPublishedAsync(coordinator, key, userId, deadline.Token) is { } published)
                    {
                        return published;
                    }

                    var lease = await Bounded(coordinator.TryLockAsync(key, _tokenRequestDeadline + _waitLimit, deadline.Token), deadline.Token);
                    if (lease is not null)
                    {
                        presented = true;
                        return await RefreshUnderLockAsync(coordinator, lease, key, provider, userId, tokens, deadline.Token);
                    }

                    sawHolder = true;
                }
                catch (Exception exception) when (sawHolder && !presented && exception is not OperationCanceledException)
                {
                    // Another node holds the lock: keep waiting for its result.
                }

                await Task.Delay(PollInterval, time, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            // Another node holds the lock and has not published within the wait limit: do not present the token too.
            return PortcullisError.RefreshUnavailable;
        }
        catch (Exception exception) when (exception is not OperationCanceledException && !presented)
        {
            Log.RefreshCoordinatorUnavailable(logger, exception.GetType().Name);
            return await RefreshOnceAsync(key, provider, userId, tokens);
        }
    }

    /// <summary>
    /// This node holds the lock: unless a result was published meanwhile (the holder before it spent the token), it
    /// presents the token, publishes the result and lets go. A coordinator failing here does not make the node let go
    /// first and refresh without the lock: a read that fails counts as nothing published.
    /// </summary>
    private async Task<Outcome<TokenSet>> RefreshUnderLockAsync(IRefreshCoordinator coordinator, IAsyncDisposable lease, string key, string provider, string userId, TokenSet tokens, CancellationToken deadline)
    {
        try
        {
            Outcome<TokenSet>? late = null;
            try
            {
                late = await ReadPublishedAsync(coordinator, key, userId, deadline);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                Log.RefreshCoordinatorUnavailable(logger, exception.GetType().Name);
            }

            if (late is { } published)
            {
                return published;
            }

            var result = await RefreshOnceAsync(key, provider, userId, tokens);
            if (result.Value is not null || result.Error == PortcullisError.ReauthenticationRequired)
            {
                await PublishAsync(coordinator, key, result);
            }

            return result;
        }
        finally
        {
            await ReleaseAsync(lease);
        }
    }

    private async Task<Outcome<TokenSet>?> ReadPublishedAsync(IRefreshCoordinator coordinator, string key, string userId, CancellationToken cancellationToken)
    {
        if (await Bounded(coordinator.ReadResultAsync(key, cancellationToken), cancellationToken) is not { } sealedResult)
        {
            return null;
        }

        StatelessRefreshResult? opened;
        try
        {
            opened = JsonSerializer.Deserialize(_results.CreateProtector(key).Unprotect(WebEncoders.Base64UrlDecode(sealedResult)), StatelessJsonContext.Default.StatelessRefreshResult);
        }
        catch (Exception exception) when (exception is CryptographicException or FormatException or JsonException)
        {
            Log.RefreshCoordinatorResultRefused(logger, userId);
            return null;
        }

        Outcome<TokenSet> result = opened?.Tokens is { } refreshed ? refreshed : PortcullisError.ReauthenticationRequired;
        Log.RefreshCoordinatorResultUsed(logger, userId);
        return await UnlessLoggedOutAsync(key, Keep(key, result), userId);
    }

    /// <summary>Sealed with the key ring under a purpose bound to the refresh token's hash: no token in clear in Redis.</summary>
    private async Task PublishAsync(IRefreshCoordinator coordinator, string key, Outcome<TokenSet> result)
    {
        var sealedResult = WebEncoders.Base64UrlEncode(_results.CreateProtector(key).Protect(
            JsonSerializer.SerializeToUtf8Bytes(new StatelessRefreshResult(result.Value), StatelessJsonContext.Default.StatelessRefreshResult)));
        try
        {
            await Bounded(coordinator.PublishAsync(key, sealedResult, ResultLifetime, CancellationToken.None), CancellationToken.None);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The result is still kept on this node; other nodes find the lock gone and present the spent token.
            Log.RefreshCoordinatorUnavailable(logger, exception.GetType().Name);
        }
    }

    /// <summary>Gives the lock back; if the coordinator does not answer, the lock expires on its own (its lifetime).</summary>
    private async Task ReleaseAsync(IAsyncDisposable lease)
    {
        try
        {
            await Bounded(lease.DisposeAsync().AsTask(), CancellationToken.None);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The lock expires on its own; waiting longer, or failing, would only cost the answer the refresh already has.
            Log.RefreshCoordinatorUnavailable(logger, exception.GetType().Name);
        }
    }

    /// <summary>One exchange with the coordinator, given up (<see cref="TimeoutException"/>) after <see cref="CoordinatorStepLimit"/>.</summary>
    private Task Bounded(Task step, CancellationToken cancellationToken) => step.WaitAsync(CoordinatorStepLimit, time, cancellationToken);

    private Task<T> Bounded<T>(Task<T> step, CancellationToken cancellationToken) => step.WaitAsync(CoordinatorStepLimit, time, cancellationToken);

    /// <summary>
    /// Logout: results that carry (or were obtained with) <paramref name="refreshToken"/> are dropped, so a copy of the
    /// cookies from before the logout no longer receives the fresh tokens of a refresh made just before it (ADR 0033).
    /// Other nodes keep their copies, so with a coordinator the token is also marked as ended there for as long as any
    /// result can still be kept (<see cref="UnlessLoggedOutAsync"/>).
    /// </summary>
    public async Task ForgetAsync(string refreshToken)
    {
        var key = Identifiers.Hash(refreshToken);
        foreach (var entry in _recent.Where(entry => entry.Key == key || entry.Value.Result.Value?.RefreshToken == refreshToken))
        {
            _recent.TryRemove(entry);
        }

        if (_coordinator is null)
        {
            return;
        }

        try
        {
            await Bounded(_coordinator.PublishAsync(TombstoneKey(key), "ended", ResultLifetime, CancellationToken.None), CancellationToken.None);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The logout goes on: its revocation at the provider still makes the kept tokens useless to a checking API.
            Log.RefreshCoordinatorUnavailable(logger, exception.GetType().Name);
        }
    }

    private Outcome<TokenSet>? Recent(string key) =>
        _recent.TryGetValue(key, out var recent) && recent.Until > time.GetUtcNow() ? recent.Result : default(Outcome<TokenSet>?);

    private async Task<Outcome<TokenSet>> RefreshOnceAsync(string key, string providerName, string userId, TokenSet tokens)
    {
        // Checked again inside the flight: a request that missed the result just before an earlier flight stored it and
        // ended would otherwise present the spent refresh token again (DESIGN.md invariant 10, ADR 0033).
        if (Recent(key) is { } recent)
        {
            return await UnlessLoggedOutAsync(key, recent, userId);
        }

        var started = time.GetTimestamp();
        var (result, outcome) = await ExchangeAsync(providerName, userId, tokens);
        if (outcome is not null)
        {
            metrics.RefreshCompleted(providerName, outcome, time.GetElapsedTime(started));
            Log.StatelessRefreshed(logger, userId, providerName, outcome);
        }

        // Kept before the flight ends, so no request falls between the two and presents the spent token again. An
        // answer that did not reach the provider is not kept: the next request may try again.
        return result.Value is not null || result.Error == PortcullisError.ReauthenticationRequired ? Keep(key, result) : result;
    }

    /// <summary>
    /// Keeps <paramref name="result"/> for the stragglers and returns what is kept: a success is never replaced by a later
    /// failure under the same key (this node's own flight or a result another node published), so they keep the new tokens.
    /// </summary>
    private Outcome<TokenSet> Keep(string key, Outcome<TokenSet> result)
    {
        var now = time.GetUtcNow();
        foreach (var old in _recent.Where(entry => entry.Value.Until <= now))
        {
            _recent.TryRemove(old);
        }

        return _recent.AddOrUpdate(key, (result, now + ResultLifetime), (_, existing) =>
            result.Value is null && existing.Result.Value is not null && existing.Until > now ? existing : (result, now + ResultLifetime)).Result;
    }

    private async Task<(Outcome<TokenSet> Result, string? Outcome)> ExchangeAsync(string providerName, string userId, TokenSet tokens)
    {
        if (providers.Find(providerName) is not { } provider)
        {
            return (PortcullisError.ReauthenticationRequired, null); // the provider left the configuration
        }

        using var deadline = new CancellationTokenSource(_tokenRequestDeadline, time);
        string tokenEndpoint;
        try
        {
            tokenEndpoint = (await provider.Metadata.GetConfigurationAsync(deadline.Token)).TokenEndpoint;
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception))
        {
            Log.TokenRequestFailed(logger, providerName, exception.GetType().Name, 0);
            return (PortcullisError.RefreshUnavailable, RefreshOutcomes.Error);
        }

        TokenResponse response;
        try
        {
            response = await RefreshTokenExchange.SendAsync(provider, tokenEndpoint, tokens, httpClientFactory, time, deadline.Token);
        }
        catch (OperationCanceledException exception)
        {
            // No store to record an unknown outcome in: the cookie keeps the old refresh token (ADR 0033).
            Log.TokenRequestFailed(logger, providerName, exception.GetType().Name, 0);
            return (PortcullisError.RefreshUnavailable, RefreshOutcomes.Timeout);
        }

        if (response.ErrorType == ResponseErrorType.Exception && response.Exception is { } failure)
        {
            Log.TokenRequestFailed(logger, providerName, failure.GetType().Name, 0);
            return (PortcullisError.RefreshUnavailable, RefreshOutcomes.Error);
        }

        if (response.IsError)
        {
            Log.TokenRequestFailed(logger, providerName, ProviderErrors.Sanitize(response.Error), (int)response.HttpStatusCode);
            if (provider.Preset.IsInvalidGrant(response))
            {
                Log.ReauthenticationRequired(logger, providerName, userId);
                return (PortcullisError.ReauthenticationRequired, RefreshOutcomes.InvalidGrant);
            }

            return (ProviderRetry.RetryAfterSeconds(response) is { } retryAfter
                ? PortcullisError.RefreshUnavailable with { RetryAfterSeconds = retryAfter }
                : PortcullisError.RefreshUnavailable, RefreshOutcomes.Error);
        }

        var idToken = response.IdentityToken is { } refreshedIdToken && provider.Preset.IsOpenIdConnect
            ? await idTokens.ValidateRefreshedAsync(provider, refreshedIdToken, tokens.IdToken, deadline.Token)
            : RefreshedIdToken.Accepted;
        if (idToken == RefreshedIdToken.Refused)
        {
            // Tokens that may be another user's are never used for this one; the refresh token just issued is withdrawn.
            await revocations.RevokeAsync(provider, response.RefreshToken ?? tokens.RefreshToken!, "refresh_token", CancellationToken.None);
            return (PortcullisError.ReauthenticationRequired, RefreshOutcomes.Error);
        }

        var refreshed = RefreshTokenExchange.Refreshed(response, tokens, time.GetUtcNow(), _skew);
        return (idToken == RefreshedIdToken.Unverifiable ? refreshed with { IdToken = tokens.IdToken } : refreshed, RefreshOutcomes.Success);
    }
}
