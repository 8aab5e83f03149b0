using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Portcullis.Agent;
using Portcullis.Audit;
using Portcullis.Diagnostics;
using Portcullis.Sessions;
using Portcullis.Storage;

namespace Portcullis.Tokens;

/// <summary>
/// A user's access token for server code: the current request's user (refreshed if due), or — for background
/// workers — any user who granted offline access, without a browser session. The token never leaves the server
/// through the gateway; every use is audited with who asked, never with the token.
/// </summary>
public interface IUserTokens
{
    /// <summary>The signed-in user's access token for the request's session.</summary>
    Task<UserTokenResult> GetForCurrentUserAsync(HttpContext context, string actor, CancellationToken cancellationToken = default);

    /// <summary>
    /// An access token of <paramref name="userId"/> at <paramref name="provider"/> (may be omitted when one provider is
    /// configured), for <paramref name="actor"/> (e.g. the worker's name). Fails with <c>offline_access_not_granted</c>
    /// when the user's grant has no refresh token.
    /// </summary>
    Task<UserTokenResult> GetForUserAsync(string userId, string? provider, string actor, CancellationToken cancellationToken = default);
}

/// <summary>Either an access token or an error code with a message for a person.</summary>
public sealed record UserTokenResult(string? AccessToken, string? Error, string? Message)
{
    public bool Succeeded => AccessToken is not null;

    internal static UserTokenResult Failure(string error, string message) => new(null, error, message);

    /// <summary>Never prints the token.</summary>
    public override string ToString() => Succeeded ? "UserTokenResult { Succeeded = True }" : $"UserTokenResult {{ Error = {Error} }}";
}

internal sealed class UserTokens(
    SessionService sessions,
    AccessTokenService accessTokens,
    IGrantStore store,
    ProviderRegistry providers,
    AuditLog audit,
    ILogger<UserTokens> logger) : IUserTokens
{
    public async Task<UserTokenResult> GetForCurrentUserAsync(HttpContext context, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        if (await sessions.ResolveAsync(context) is not { } session)
        {
            return UserTokenResult.Failure("unauthenticated", "There is no valid session in this request.");
        }

        return await IssueAsync(session.Record.GrantId, session.Record.UserId, session.Record.Provider, actor, cancellationToken);
    }

    public async Task<UserTokenResult> GetForUserAsync(string userId, string? provider, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        if (providers.Find(provider)?.Name is not { } providerName)
        {
            return UserTokenResult.Failure("invalid_request", "Name one of the configured providers.");
        }

        var grant = await store.FindGrantAsync(userId, providerName, cancellationToken);
        if (grant is null)
        {
            await audit.RecordAsync(AuditEvents.TokenUse, AuditOutcomes.Refused, userId, providerName, actor: actor, detail: "no grant");
            return UserTokenResult.Failure("no_grant", "The user has not signed in with this provider, or has logged out since.");
        }

        if (!grant.HasRefreshToken)
        {
            await audit.RecordAsync(AuditEvents.TokenUse, AuditOutcomes.Refused, userId, providerName, actor: actor, detail: "no offline access");
            return UserTokenResult.Failure(
                "offline_access_not_granted",
                "The user did not grant offline access (no refresh token), so their token cannot be used without their session.");
        }

        return await IssueAsync(grant.Id, userId, providerName, actor, cancellationToken);
    }

    private async Task<UserTokenResult> IssueAsync(string grantId, string userId, string provider, string actor, CancellationToken cancellationToken)
    {
        var outcome = await accessTokens.GetAccessTokenAsync(grantId, cancellationToken);
        if (outcome.Error is { } error)
        {
            await audit.RecordAsync(AuditEvents.TokenUse, AuditOutcomes.Failed, userId, provider, actor: actor, detail: error.Code);
            return UserTokenResult.Failure(error.Code, error.Message);
        }

        Log.UserTokenIssued(logger, actor, userId, provider);
        await audit.RecordAsync(AuditEvents.TokenUse, AuditOutcomes.Success, userId, provider, actor: actor);
        return new UserTokenResult(outcome.Value, null, null);
    }
}
