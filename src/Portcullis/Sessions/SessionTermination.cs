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
    /// <summary>Ends one session; its grant goes with it when no other live session uses it.</summary>
    public async Task EndAsync(SessionRecord session, string auditEvent)
    {
        await store.DeleteSessionAsync(session.Key, CancellationToken.None);
        metrics.SessionsEnded(auditEvent == AuditEvents.Logout ? SessionEndReasons.Logout : SessionEndReasons.EndedByUser);
        await audit.RecordAsync(auditEvent, AuditOutcomes.Success, session.UserId, session.Provider, session.Handle);
        if (await grantStore.GetGrantAsync(session.GrantId, CancellationToken.None) is { } grant
            && await store.CountSessionsForGrantAsync(grant.Id, time.GetUtcNow(), CancellationToken.None) == 0)
        {
            await EndGrantAsync(grant);
        }
    }

    /// <summary>Ends every session of the user and every grant they gave the gateway.</summary>
    public async Task EndEverywhereAsync(string userId)
    {
        var ended = await store.DeleteSessionsForUserAsync(userId, provider: null, CancellationToken.None);
        metrics.SessionsEnded(SessionEndReasons.Everywhere, ended);
        await audit.RecordAsync(AuditEvents.Logout, AuditOutcomes.Success, userId, detail: $"everywhere: {ended} session(s)");
        foreach (var provider in providers.All)
        {
            if (await grantStore.FindGrantAsync(userId, provider.Name, CancellationToken.None) is { } grant)
            {
                await EndGrantAsync(grant);
            }
        }
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
