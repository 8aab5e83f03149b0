using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Portcullis.Agent;
using Microsoft.Extensions.Options;
using Portcullis.Audit;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Storage;
using Portcullis.Tokens;

namespace Portcullis.Sessions;

/// <summary>
/// <see cref="IUserTokens"/>: the current request's session (this floor resolves it) or a stored grant, then the
/// token service below. Every use is audited with the actor, never with the token.
/// </summary>
internal sealed class UserTokens(
    SessionService sessions,
    SessionTokens sessionTokens,
    AccessTokenService accessTokens,
    IGrantStore store,
    ProviderRegistry providers,
    AuditLog audit,
    IOptions<PortcullisOptions> options,
    ReloadableOptions routes,
    ILogger<UserTokens> logger) : IUserTokens
{
    public async Task<UserTokenResult> GetForCurrentUserAsync(HttpContext context, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        if (await sessions.ResolveAsync(context) is not { } session)
        {
            return UserTokenResult.Failure("unauthenticated", "There is no valid session in this request.");
        }

        if (session.Stateless)
        {
            // The tokens are this request's cookies (ADR 0033); a refresh writes the new ones on its response.
            return await IssuedAsync(await sessionTokens.GetAccessTokenAsync(context, session, audience: null, cancellationToken), session.Record.UserId, session.Record.Provider, actor);
        }

        return await IssueAsync(session.Record.GrantId, session.Record.UserId, session.Record.Provider, actor, cancellationToken);
    }

    public Task<UserTokenResult> GetForUserAsync(string userId, string? provider, string actor, CancellationToken cancellationToken = default) =>
        GetForUserAsync(userId, provider, actor, audience: null, cancellationToken);

    public async Task<UserTokenResult> GetForUserAndApiAsync(string userId, string api, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(api);
        // The routes as the proxy serves them now: a reload adds, removes or re-targets them (the session mode does not change).
        var current = routes.Current;
        if (!current.Apis.TryGetValue(api, out var route))
        {
            return UserTokenResult.Failure("invalid_request", "Name one of the configured API routes.");
        }

        var audience = TokenAudience.Of(route, current);
        return await GetForUserAsync(userId, audience?.Provider, actor, audience, cancellationToken);
    }

    private async Task<UserTokenResult> GetForUserAsync(string userId, string? provider, string actor, TokenAudience? audience, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        if (providers.Find(provider)?.Name is not { } providerName)
        {
            return UserTokenResult.Failure("invalid_request", "Name one of the configured providers.");
        }

        if (options.Value.Session.Mode == SessionModes.Stateless)
        {
            await audit.RecordAsync(AuditEvents.TokenUse, AuditOutcomes.Refused, userId, providerName, actor: actor, detail: "user not present (stateless)");
            return UserTokenResult.Failure(
                "user_not_present",
                "Portcullis:Session:Mode is stateless: a user's tokens exist only in their browser's cookies, so they can be used only in a request of theirs (ADR 0033).");
        }

        var splitKey = options.Value.Session.Mode == SessionModes.SplitKey;
        if (splitKey && !options.Value.Tokens.OfflineAccess)
        {
            return await UserNotPresentAsync(userId, providerName, actor);
        }

        if (!options.Value.Tokens.OfflineAccess)
        {
            await audit.RecordAsync(AuditEvents.TokenUse, AuditOutcomes.Refused, userId, providerName, actor: actor, detail: "offline access not enabled");
            return UserTokenResult.Failure(
                "offline_access_not_enabled",
                "Using a user's token without their session is off; set Portcullis:Tokens:OfflineAccess to true to allow it (ADR 0027).");
        }

        // The user's offline grant: that of their newest login at the provider that returned a refresh token (ADR 0027).
        var grant = await store.FindGrantAsync(userId, providerName, cancellationToken);
        if (splitKey && grant is null or { SessionKeyed: true })
        {
            return await UserNotPresentAsync(userId, providerName, actor);
        }

        if (grant is null)
        {
            await audit.RecordAsync(AuditEvents.TokenUse, AuditOutcomes.Refused, userId, providerName, actor: actor, detail: "no grant");
            return UserTokenResult.Failure(
                "no_grant",
                "The user has no grant kept for offline use at this provider: they have not signed in with it since offline access was enabled, "
                + "their sign-in returned no refresh token (offline access not granted), or they logged out everywhere since.");
        }

        if (!grant.HasRefreshToken)
        {
            await audit.RecordAsync(AuditEvents.TokenUse, AuditOutcomes.Refused, userId, providerName, actor: actor, detail: "no offline access");
            return UserTokenResult.Failure(
                "offline_access_not_granted",
                "The user did not grant offline access (no refresh token), so their token cannot be used without their session.");
        }

        // Split-key: this grant is the server-key copy the operator opted into (Session:SplitKeyOfflineCopy); each use says so.
        var detail = splitKey ? "offline (split-key server copy)" : "offline";
        return await IssueAsync(grant.Id, userId, providerName, actor, cancellationToken, audience is null ? detail : $"{detail}, {audience.Parameter} {audience.Value}", audience);
    }

    /// <summary>
    /// Split-key mode without a server-key copy: the user's tokens open only with the key in their browser's cookie, so
    /// no worker can use them (ADR 0032). Audited as refused, like every other refusal here.
    /// </summary>
    private async Task<UserTokenResult> UserNotPresentAsync(string userId, string provider, string actor)
    {
        await audit.RecordAsync(AuditEvents.TokenUse, AuditOutcomes.Refused, userId, provider, actor: actor, detail: "user not present (split-key)");
        return UserTokenResult.Failure(
            "user_not_present",
            "Portcullis:Session:Mode is split-key: this user's tokens open only with the key in their browser's cookie, so they can be used only "
            + "in a request of theirs. Portcullis:Session:SplitKeyOfflineCopy with Portcullis:Tokens:OfflineAccess keeps a server-key copy for workers.");
    }

    private async Task<UserTokenResult> IssueAsync(
        string grantId, string userId, string provider, string actor, CancellationToken cancellationToken, string? detail = null, TokenAudience? audience = null)
    {
        return await IssuedAsync(await accessTokens.GetAccessTokenAsync(grantId, cancellationToken, audience), userId, provider, actor, detail);
    }

    private async Task<UserTokenResult> IssuedAsync(Primitives.Outcome<string> outcome, string userId, string provider, string actor, string? detail = null)
    {
        if (outcome.Error is { } error)
        {
            await audit.RecordAsync(AuditEvents.TokenUse, AuditOutcomes.Failed, userId, provider, actor: actor, detail: error.Code);
            return UserTokenResult.Failure(error.Code, error.Message);
        }

        Log.UserTokenIssued(logger, actor, userId, provider);
        await audit.RecordAsync(AuditEvents.TokenUse, AuditOutcomes.Success, userId, provider, actor: actor, detail: detail);
        return new UserTokenResult(outcome.Value, null, null);
    }
}
