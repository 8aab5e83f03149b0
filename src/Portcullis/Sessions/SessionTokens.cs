using Microsoft.AspNetCore.Http;
using Portcullis.Configuration;
using Portcullis.Primitives;
using Portcullis.Tokens;
using Portcullis.Vault;

namespace Portcullis.Sessions;

/// <summary>
/// The seam between a request's session and its tokens, the same for every <c>Session:Mode</c>: the grant read with
/// the session (server and split-key) or the session's own cookies (stateless, ADR 0033). The proxy, <c>/bff/user</c>
/// and the authentication scheme ask here, so none of them knows where the tokens live.
/// </summary>
internal sealed class SessionTokens(AccessTokenService accessTokens, GrantService grants, StatelessSessions stateless)
{
    /// <summary>The session's tokens as they are now; null when they do not decrypt (or the grant is gone).</summary>
    public TokenSet? Read(HttpContext context, CurrentSession session) =>
        session.Stateless ? StatelessSessions.TokensOf(context) : grants.ReadTokens(session.Grant);

    /// <summary>
    /// The session's access token, or with <paramref name="audience"/> its token for that API (ADR 0043; not in stateless
    /// mode, whose configuration refuses routes with one), refreshed first when due.
    /// </summary>
    public ValueTask<Outcome<string>> GetAccessTokenAsync(HttpContext context, CurrentSession session, TokenAudience? audience, CancellationToken cancellationToken) =>
        session.Stateless
            ? new(stateless.GetAccessTokenAsync(context, cancellationToken))
            : accessTokens.GetAccessTokenAsync(session.Grant, audience, cancellationToken);

    /// <summary>The upstream refused <paramref name="rejectedAccessToken"/>: a new one, refreshed now unless it already changed.</summary>
    public Task<Outcome<string>> RefreshRejectedAsync(
        HttpContext context, CurrentSession session, string rejectedAccessToken, CancellationToken cancellationToken, TokenAudience? audience = null) =>
        session.Stateless
            ? stateless.RefreshRejectedAsync(context, rejectedAccessToken, cancellationToken)
            : accessTokens.RefreshRejectedAsync(session.Record.GrantId, rejectedAccessToken, cancellationToken, audience);
}
