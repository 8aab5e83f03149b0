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
    /// ADR 0027 share one) and it is not the user's offline grant (<c>Tokens:OfflineAccess</c>). <paramref name="actor"/>
    /// is who ended it when not the user: the operator's user id.
    /// </summary>
    public Task EndAsync(SessionRecord session, string auditEvent, string? actor = null) =>
        EndAsync(session, auditEvent, AuditOutcomes.Success, auditEvent switch
        {
            AuditEvents.Logout => SessionEndReasons.Logout,
            AuditEvents.AdminSessionEnded => SessionEndReasons.Admin,
            _ => SessionEndReasons.EndedByUser,
        }, actor, detail: null);

    /// <summary>
    /// Ends a session whose cookie came from another browser or network than at login (seed 000): as a logout would,
    /// its grant revoked while the request still holds the key of a split-key session, which no later sweep has.
    /// </summary>
    public Task EndForAnomalyAsync(SessionRecord session, string anomalyCode) =>
        EndAsync(session, AuditEvents.SessionEnded, AuditOutcomes.Refused, SessionEndReasons.Anomaly, actor: null, detail: $"anomaly: {anomalyCode}");

    private async Task EndAsync(SessionRecord session, string auditEvent, string outcome, string endReason, string? actor, string? detail)
    {
        // Everything that can fail is read, and the revocation queued, before the session row goes: a store fault part
        // way leaves the session in place for the user to log out again. Deleting the row first would leave its grant
        // to the unused-grant sweep, which cannot revoke a split-key grant (it has no key) and so would drop its
        // refresh token alive at the provider (DESIGN.md invariant 10).
        var grant = await grantStore.GetGrantAsync(session.GrantId, CancellationToken.None);
        var endsGrant = grant is not null
            && !(grant.Offline && options.Value.Tokens.OfflineAccess)
            && !await AnotherSessionUsesAsync(grant, session);
        if (endsGrant)
        {
            await QueueRevocationAsync(grant!, sparingGrantsInUse: true);
        }

        await store.DeleteSessionAsync(session.Key, CancellationToken.None);
        metrics.SessionsEnded(endReason);
        await audit.RecordAsync(auditEvent, outcome, session.UserId, session.Provider, session.Handle, actor, detail);
        if (endsGrant)
        {
            await grantStore.DeleteGrantAsync(grant!.Id, CancellationToken.None);
        }
    }

    /// <summary>Whether a live session other than <paramref name="ending"/> uses the grant (only possible before ADR 0027).</summary>
    private async Task<bool> AnotherSessionUsesAsync(GrantRecord grant, SessionRecord ending) =>
        (await store.ListSessionsForUserAsync(ending.UserId, time.GetUtcNow(), CancellationToken.None))
            .Any(other => other.GrantId == grant.Id && other.Key != ending.Key);

    /// <summary>
    /// Ends every session of the user and every grant they gave the gateway, the offline ones included.
    /// <paramref name="operatorId"/> is set when an operator did it: audited as theirs, counted with reason <c>admin</c>.
    /// </summary>
    public async Task<int> EndEverywhereAsync(string userId, string? operatorId = null)
    {
        var sessions = await store.ListSessionsForUserAsync(userId, time.GetUtcNow(), CancellationToken.None);
        var ended = await store.DeleteSessionsForUserAsync(userId, provider: null, CancellationToken.None);
        metrics.SessionsEnded(operatorId is null ? SessionEndReasons.Everywhere : SessionEndReasons.Admin, ended);
        await audit.RecordAsync(
            operatorId is null ? AuditEvents.Logout : AuditEvents.AdminSessionEnded,
            AuditOutcomes.Success,
            userId,
            actor: operatorId,
            detail: $"everywhere: {ended} session(s)");
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

        return ended;
    }

    /// <summary>
    /// Ends up to <paramref name="limit"/> grants whose sessions all ended without a logout (idle or absolute expiry,
    /// back-channel logout, a session replaced by a link) and that are not kept for offline use: deleted, and revoked
    /// unless that could end a grant in use (ADR 0027). Returns how many were ended.
    /// </summary>
    public async Task<int> EndUnusedGrantsAsync(int limit, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // A login saves its grant a moment before its session: a grant written within the grace is left for the next sweep.
        var unused = await grantStore.ListUnusedGrantsAsync(
            now, now - UnusedGrantGrace, includeOffline: !options.Value.Tokens.OfflineAccess, limit, cancellationToken);
        var ended = 0;
        foreach (var grant in unused)
        {
            // Checked again: a session of an older version may have joined the grant since the list was read.
            if (await store.CountSessionsForGrantAsync(grant.Id, time.GetUtcNow(), cancellationToken) > 0)
            {
                continue;
            }

            var revoked = await EndGrantAsync(grant, sparingGrantsInUse: true);
            Diagnostics.Log.UnusedGrantEnded(logger, grant.UserId, grant.Provider, revoked);
            ended++;
        }

        return ended;
    }

    /// <summary>How long after its last write a grant without a session is left alone (a login between its two writes).</summary>
    internal static readonly TimeSpan UnusedGrantGrace = TimeSpan.FromMinutes(5);

    /// <summary>Deletes the grant, its revocation queued first. True when a revocation was queued.</summary>
    private async Task<bool> EndGrantAsync(GrantRecord grant, bool sparingGrantsInUse)
    {
        // Queued before the row goes: a crash in between leaves the grant for the next sweep, which queues it again
        // (revoking a revoked token is harmless, RFC 7009 §2.2), rather than a deleted grant whose token is never revoked.
        var queued = await QueueRevocationAsync(grant, sparingGrantsInUse);
        await grantStore.DeleteGrantAsync(grant.Id, CancellationToken.None);
        return queued;
    }

    /// <summary>Queues the revocation of the grant's tokens when they can be read and revoking them is safe; true when queued.</summary>
    private async Task<bool> QueueRevocationAsync(GrantRecord grant, bool sparingGrantsInUse)
    {
        // A split-key grant opens only in a request of its own session (ADR 0032): a sweep, a back-channel logout or
        // another session's "log out everywhere" can only delete it; its tokens expire at the provider.
        var tokens = grants.TryReadOtherSessionsTokens(grant);
        if (tokens is null)
        {
            if (grant.SessionKeyed)
            {
                Diagnostics.Log.SplitKeyGrantEndedWithoutRevocation(logger, grant.UserId, grant.Provider);
            }

            return false;
        }

        if (sparingGrantsInUse && !await MayRevokeAsync(grant, tokens))
        {
            Diagnostics.Log.GrantEndedWithoutRevocation(logger, grant.UserId, grant.Provider);
            return false;
        }

        // Revoking the refresh token ends the whole grant at the provider; without one, the access token is all there is.
        // Providers without RFC 7009 (GitHub, Facebook) withdraw the whole authorization, named by the access token.
        var revokesTokens = providers.Find(grant.Provider)?.Preset.UsesTokenRevocation != false;
        await (tokens.RefreshToken is { } refreshToken && revokesTokens
            ? revocations.EnqueueAsync(grant.Provider, grant.UserId, refreshToken, "refresh_token", tokenExpiresAt: null)
            : revocations.EnqueueAsync(grant.Provider, grant.UserId, tokens.AccessToken, "access_token", tokens.AccessTokenExpiresAt));
        return true;
    }

    /// <summary>
    /// Whether revoking the ended grant cannot end another grant of the user at the provider that a live session or a
    /// worker still uses: at providers that keep one grant per user and client (oidc-provider within a provider
    /// session, Google) it would (ADR 0020). With no such grant left, revoking is always safe.
    /// </summary>
    private async Task<bool> MayRevokeAsync(GrantRecord ended, TokenSet endedTokens)
    {
        var preset = providers.Find(ended.Provider)?.Preset;
        var sessions = (await store.ListSessionsForUserAsync(ended.UserId, time.GetUtcNow(), CancellationToken.None))
            .Where(session => session.Provider == ended.Provider && session.GrantId != ended.Id)
            .ToList();
        var inUse = sessions.Select(session => session.GrantId).ToHashSet(StringComparer.Ordinal);
        if (options.Value.Tokens.OfflineAccess
            && await grantStore.FindGrantAsync(ended.UserId, ended.Provider, CancellationToken.None) is { } offline
            && offline.Id != ended.Id)
        {
            inUse.Add(offline.Id);
        }

        foreach (var grantId in inUse)
        {
            var grant = await grantStore.GetGrantAsync(grantId, CancellationToken.None);
            if (grant is { SessionKeyed: true })
            {
                // Sealed under another session's key (ADR 0032): that session's row names its provider session.
                var sid = sessions.FirstOrDefault(session => session.GrantId == grantId)?.ProviderSessionId;
                if (preset?.MayRevokeBesideProviderSession(endedTokens.IdToken, sid) != true)
                {
                    return false;
                }

                continue;
            }

            var other = grants.ReadTokens(grant);
            if (other is not null && preset?.MayRevokeSupersededRefreshToken(endedTokens.IdToken, other.IdToken) != true)
            {
                return false;
            }
        }

        return true;
    }
}
