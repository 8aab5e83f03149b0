using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Audit;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Storage;
using Portcullis.Tokens;
using Portcullis.Vault;

namespace Portcullis.Sessions;

/// <summary>
/// Ends sessions the way a user asked for (logout, ending one session from another, logging out everywhere): the
/// session rows go at once, and a grant no session uses any more is deleted and its token queued for revocation,
/// so the answer never waits for the provider (DESIGN.md invariant 7). Each session owns its grant (ADR 0027), so
/// ending one session never touches the grant of another, a login racing on another device included.
/// </summary>
internal sealed class SessionTermination(
    ISessionStore store,
    IGrantStore grantStore,
    GrantService grants,
    RevocationQueue revocations,
    ProviderRegistry providers,
    AuditLog audit,
    IOptions<PortcullisOptions> options,
    PortcullisMetrics metrics,
    TimeProvider time,
    ILogger<SessionTermination> logger)
{
    /// <summary>
    /// Ends one session; its grant goes with it when no other live session uses it (only sessions created before
    /// ADR 0027 share one) and it is not the user's offline grant (<c>Tokens:OfflineAccess</c>).
    /// </summary>
    public async Task EndAsync(SessionRecord session, string auditEvent)
    {
        await store.DeleteSessionAsync(session.Key, CancellationToken.None);
        metrics.SessionsEnded(auditEvent == AuditEvents.Logout ? SessionEndReasons.Logout : SessionEndReasons.EndedByUser);
        await audit.RecordAsync(auditEvent, AuditOutcomes.Success, session.UserId, session.Provider, session.Handle);
        if (await grantStore.GetGrantAsync(session.GrantId, CancellationToken.None) is { } grant
            && !(grant.Offline && options.Value.Tokens.OfflineAccess)
            && await store.CountSessionsForGrantAsync(grant.Id, time.GetUtcNow(), CancellationToken.None) == 0)
        {
            await EndGrantAsync(grant, sparingGrantsInUse: true);
        }
    }

    /// <summary>Ends every session of the user and every grant they gave the gateway, the offline ones included.</summary>
    public async Task EndEverywhereAsync(string userId)
    {
        var sessions = await store.ListSessionsForUserAsync(userId, time.GetUtcNow(), CancellationToken.None);
        var ended = await store.DeleteSessionsForUserAsync(userId, provider: null, CancellationToken.None);
        metrics.SessionsEnded(SessionEndReasons.Everywhere, ended);
        await audit.RecordAsync(AuditEvents.Logout, AuditOutcomes.Success, userId, detail: $"everywhere: {ended} session(s)");
        foreach (var grantId in sessions.Select(session => session.GrantId).Distinct(StringComparer.Ordinal))
        {
            if (await grantStore.GetGrantAsync(grantId, CancellationToken.None) is { } grant)
            {
                await EndGrantAsync(grant, sparingGrantsInUse: false);
            }
        }

        foreach (var provider in providers.All)
        {
            if (await grantStore.FindGrantAsync(userId, provider.Name, CancellationToken.None) is { } offline)
            {
                await EndGrantAsync(offline, sparingGrantsInUse: false);
            }
        }
    }

    private async Task EndGrantAsync(GrantRecord grant, bool sparingGrantsInUse)
    {
        var tokens = grants.ReadTokens(grant);
        await grantStore.DeleteGrantAsync(grant.Id, CancellationToken.None);
        if (tokens is null)
        {
            return;
        }

        if (sparingGrantsInUse && !await MayRevokeAsync(grant, tokens))
        {
            Diagnostics.Log.GrantEndedWithoutRevocation(logger, grant.UserId, grant.Provider);
            return;
        }

        // Revoking the refresh token ends the whole grant at the provider; without one, the access token is all there is.
        // Providers without RFC 7009 (GitHub, Facebook) withdraw the whole authorization, named by the access token.
        var revokesTokens = providers.Find(grant.Provider)?.Preset.UsesTokenRevocation != false;
        await (tokens.RefreshToken is { } refreshToken && revokesTokens
            ? revocations.EnqueueAsync(grant.Provider, grant.UserId, refreshToken, "refresh_token", tokenExpiresAt: null)
            : revocations.EnqueueAsync(grant.Provider, grant.UserId, tokens.AccessToken, "access_token", tokens.AccessTokenExpiresAt));
    }

    /// <summary>
    /// Whether revoking the ended grant cannot end another grant of the user at the provider that a live session or a
    /// worker still uses: at providers that keep one grant per user and client (oidc-provider within a provider
    /// session, Google) it would (ADR 0020). With no such grant left, revoking is always safe.
    /// </summary>
    private async Task<bool> MayRevokeAsync(GrantRecord ended, TokenSet endedTokens)
    {
        var preset = providers.Find(ended.Provider)?.Preset;
        var inUse = (await store.ListSessionsForUserAsync(ended.UserId, time.GetUtcNow(), CancellationToken.None))
            .Where(session => session.Provider == ended.Provider && session.GrantId != ended.Id)
            .Select(session => session.GrantId)
            .ToHashSet(StringComparer.Ordinal);
        if (options.Value.Tokens.OfflineAccess
            && await grantStore.FindGrantAsync(ended.UserId, ended.Provider, CancellationToken.None) is { } offline
            && offline.Id != ended.Id)
        {
            inUse.Add(offline.Id);
        }

        foreach (var grantId in inUse)
        {
            var other = grants.ReadTokens(await grantStore.GetGrantAsync(grantId, CancellationToken.None));
            if (other is not null && preset?.MayRevokeSupersededRefreshToken(endedTokens.IdToken, other.IdToken) != true)
            {
                return false;
            }
        }

        return true;
    }
}
