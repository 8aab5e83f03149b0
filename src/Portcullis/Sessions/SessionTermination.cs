using Portcullis.Agent;
using Portcullis.Audit;
using Portcullis.Diagnostics;
using Portcullis.Storage;
using Portcullis.Tokens;

namespace Portcullis.Sessions;

/// <summary>
/// Ends sessions the way a user asked for (logout, ending one session from another, logging out everywhere): the
/// session rows go at once, and a grant no session uses any more is deleted and its token queued for revocation,
/// so the answer never waits for the provider (DESIGN.md invariant 7).
/// </summary>
internal sealed class SessionTermination(
    ISessionStore store,
    IGrantStore grantStore,
    GrantService grants,
    RevocationQueue revocations,
    ProviderRegistry providers,
    AuditLog audit,
    PortcullisMetrics metrics,
    TimeProvider time)
{
    /// <summary>
    /// Ends one session; its grant goes with it when no other live session uses it. <paramref name="actor"/> is who
    /// ended it when not the user: the operator's user id.
    /// </summary>
    public async Task EndAsync(SessionRecord session, string auditEvent, string? actor = null)
    {
        await store.DeleteSessionAsync(session.Key, CancellationToken.None);
        metrics.SessionsEnded(auditEvent switch
        {
            AuditEvents.Logout => SessionEndReasons.Logout,
            AuditEvents.AdminSessionEnded => SessionEndReasons.Admin,
            _ => SessionEndReasons.EndedByUser,
        });
        await audit.RecordAsync(auditEvent, AuditOutcomes.Success, session.UserId, session.Provider, session.Handle, actor);
        if (await grantStore.GetGrantAsync(session.GrantId, CancellationToken.None) is { } grant
            && await store.CountSessionsForGrantAsync(grant.Id, time.GetUtcNow(), CancellationToken.None) == 0)
        {
            await EndGrantAsync(grant);
        }
    }

    /// <summary>
    /// Ends every session of the user and every grant they gave the gateway. <paramref name="operatorId"/> is set when an
    /// operator did it: audited as theirs, counted with reason <c>admin</c>.
    /// </summary>
    public async Task<int> EndEverywhereAsync(string userId, string? operatorId = null)
    {
        var ended = await store.DeleteSessionsForUserAsync(userId, provider: null, CancellationToken.None);
        metrics.SessionsEnded(operatorId is null ? SessionEndReasons.Everywhere : SessionEndReasons.Admin, ended);
        await audit.RecordAsync(
            operatorId is null ? AuditEvents.Logout : AuditEvents.AdminSessionEnded,
            AuditOutcomes.Success,
            userId,
            actor: operatorId,
            detail: $"everywhere: {ended} session(s)");
        foreach (var provider in providers.All)
        {
            if (await grantStore.FindGrantAsync(userId, provider.Name, CancellationToken.None) is { } grant)
            {
                await EndGrantAsync(grant);
            }
        }

        return ended;
    }

    private async Task EndGrantAsync(GrantRecord grant)
    {
        var tokens = grants.ReadTokens(grant);
        await grantStore.DeleteGrantAsync(grant.Id, CancellationToken.None);
        if (tokens is null)
        {
            return;
        }

        // Revoking the refresh token ends the whole grant at the provider; without one, the access token is all there is.
        // Providers without RFC 7009 (GitHub, Facebook) withdraw the whole authorization, named by the access token.
        var revokesTokens = providers.Find(grant.Provider)?.Preset.UsesTokenRevocation != false;
        await (tokens.RefreshToken is { } refreshToken && revokesTokens
            ? revocations.EnqueueAsync(grant.Provider, grant.UserId, refreshToken, "refresh_token", tokenExpiresAt: null)
            : revocations.EnqueueAsync(grant.Provider, grant.UserId, tokens.AccessToken, "access_token", tokens.AccessTokenExpiresAt));
    }
}
