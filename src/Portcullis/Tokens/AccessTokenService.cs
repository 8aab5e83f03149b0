using System.Collections.Concurrent;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Http;
using Portcullis.Sessions;
using Portcullis.Storage;
using Portcullis.Vault;

namespace Portcullis.Tokens;

/// <summary>
/// Gives a session's current access token, refreshing it first when it expires within <c>Refresh:Skew</c>.
/// Concurrent requests of one grant share a single refresh (single-flight per grant), and the new tokens are
/// persisted before any request uses them (SECURITY.md items 24–27).
/// </summary>
internal sealed class AccessTokenService(
    IPortcullisStore store,
    GrantService grants,
    ProviderRegistry providers,
    IHttpClientFactory httpClientFactory,
    IOptions<PortcullisOptions> options,
    TimeProvider time,
    ILogger<AccessTokenService> logger)
{
    /// <summary>How long a request waits for another request's refresh of the same grant before giving up with 503.</summary>
    public static readonly TimeSpan RefreshWaitLimit = TimeSpan.FromSeconds(15);

    /// <summary>Bound of one refresh (token request plus save); it runs to completion even if the browser goes away,
    /// because a rotated refresh token the provider already issued must not be lost (SECURITY.md item 25).</summary>
    public static readonly TimeSpan RefreshTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _refreshLocks = new(StringComparer.Ordinal);
    private readonly TimeSpan _skew = options.Value.Refresh.Skew;

    public async Task<Outcome<string>> GetAccessTokenAsync(CurrentSession session, CancellationToken cancellationToken)
    {
        var grant = await store.GetGrantAsync(session.Record.GrantId, cancellationToken);
        var tokens = grant is null ? null : grants.ReadTokens(grant);
        if (grant is null || tokens is null)
        {
            return PortcullisError.Unauthenticated;
        }

        if (IsFresh(tokens))
        {
            return tokens.AccessToken;
        }

        var gate = _refreshLocks.GetOrAdd(grant.Id, _ => new SemaphoreSlim(1, 1));
        if (!await gate.WaitAsync(RefreshWaitLimit, cancellationToken))
        {
            return PortcullisError.RefreshUnavailable;
        }

        try
        {
            // Someone else may have refreshed while we waited: re-read before spending the refresh token.
            var seenVersion = grant.Version;
            grant = await store.GetGrantAsync(grant.Id, cancellationToken);
            tokens = grant is null ? null : grants.ReadTokens(grant);
            if (grant is null || tokens is null)
            {
                return PortcullisError.ReauthenticationRequired;
            }

            // A token refreshed while we waited is used as long as it is valid, even when its whole lifetime is
            // shorter than the skew: otherwise every waiter would refresh again, one after the other.
            var refreshedMeanwhile = grant.Version != seenVersion && tokens.AccessTokenExpiresAt > time.GetUtcNow();
            if (IsFresh(tokens) || refreshedMeanwhile)
            {
                return tokens.AccessToken;
            }

            using var refreshTimeout = new CancellationTokenSource(RefreshTimeout);
            return await RefreshAsync(session, grant, tokens, refreshTimeout.Token);
        }
        finally
        {
            gate.Release();
        }
    }

    private bool IsFresh(TokenSet tokens) =>
        (tokens.RefreshDueAt ?? tokens.AccessTokenExpiresAt - _skew) is not { } dueAt || dueAt > time.GetUtcNow();

    private async Task<Outcome<string>> RefreshAsync(CurrentSession session, GrantRecord grant, TokenSet tokens, CancellationToken cancellationToken)
    {
        var provider = providers.Find(grant.Provider);
        if (tokens.RefreshToken is null || provider is null)
        {
            // Nothing to refresh with: the access token is still usable until it really expires.
            return tokens.AccessTokenExpiresAt > time.GetUtcNow() ? tokens.AccessToken : await EndGrantAsync(session, grant);
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
            return PortcullisError.RefreshUnavailable;
        }

        if (response.IsError)
        {
            Log.TokenRequestFailed(logger, grant.Provider, ProviderErrors.Sanitize(response.Error), (int)response.HttpStatusCode);
            return response.ErrorType == ResponseErrorType.Protocol && response.Error == "invalid_grant"
                ? await EndGrantAsync(session, grant)
                : PortcullisError.RefreshUnavailable;
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
        var saved = await store.SaveGrantAsync(
            grant with { Tokens = grants.Protect(refreshed, grant.Id), AccessTokenExpiresAt = refreshed.AccessTokenExpiresAt, Version = grant.Version + 1, UpdatedAt = now },
            grant.Version,
            cancellationToken);
        return saved ? refreshed.AccessToken : PortcullisError.RefreshUnavailable;
    }

    /// <summary><c>invalid_grant</c>: the provider no longer honours this grant, so neither do we (SECURITY.md item 26).</summary>
    private async Task<PortcullisError> EndGrantAsync(CurrentSession session, GrantRecord grant)
    {
        await store.DeleteGrantAsync(grant.Id, CancellationToken.None);
        await store.DeleteSessionAsync(session.Record.Key, CancellationToken.None);
        return PortcullisError.ReauthenticationRequired;
    }
}
