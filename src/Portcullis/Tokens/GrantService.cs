using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Storage;
using Portcullis.Vault;

namespace Portcullis.Tokens;

/// <summary>
/// One grant per session (ADR 0027): every login stores its tokens in a new grant that only the session it creates
/// uses, so a step-up or second sign-in in one session never changes the tokens of another. With
/// <c>Tokens:OfflineAccess</c>, the newest login that returned a refresh token also becomes the user's offline grant at
/// the provider. Grants a login supersedes end with their sessions (<c>SessionTermination</c>), not here.
/// <para>
/// Split-key mode (ADR 0032): a login's grant is sealed under its session's cookie key (<see cref="SessionKeyScope"/>)
/// and marked <see cref="GrantRecord.SessionKeyed"/>; only the offline grant, when the operator opted into
/// <c>Session:SplitKeyOfflineCopy</c>, stays under the key ring so workers can open it.
/// </para>
/// </summary>
internal sealed class GrantService(
    IGrantStore store,
    RecordProtector<TokenSet> tokenProtector,
    IOptions<PortcullisOptions> options,
    TimeProvider time,
    ILogger<GrantService> logger)
{
    public async Task<GrantRecord> StoreLoginTokensAsync(string userId, string provider, TokenSet tokens, CancellationToken cancellationToken)
    {
        var offline = options.Value.Tokens.OfflineAccess && tokens.RefreshToken is not null;
        // The validator allows offline access in split-key mode only with the server-key copy opted into.
        var sessionKeyed = options.Value.Session.Mode == SessionModes.SplitKey && !offline;
        if (offline && options.Value.Session.SplitKeyOfflineCopy)
        {
            Diagnostics.Log.SplitKeyOfflineCopyKept(logger, userId, provider);
        }

        while (true)
        {
            var id = Identifiers.NewId();
            var grant = new GrantRecord(id, userId, provider, Seal(tokens, id, sessionKeyed), tokens.AccessTokenExpiresAt, 1, time.GetUtcNow(),
                tokens.RefreshToken is not null, offline, sessionKeyed);
            if (await store.SaveGrantAsync(grant, expectedVersion: 0, cancellationToken))
            {
                return grant;
            }

            // Only an id collision (or a concurrent offline insert racing the mark) refuses an insert: try a new row.
        }
    }

    /// <summary>The grant with <paramref name="tokens"/> as its next version (optimistic concurrency on <see cref="GrantRecord.Version"/>).</summary>
    public GrantRecord NextVersion(GrantRecord grant, TokenSet tokens, DateTimeOffset now) =>
        grant with
        {
            Tokens = Seal(tokens, grant.Id, grant.SessionKeyed),
            AccessTokenExpiresAt = tokens.AccessTokenExpiresAt,
            Version = grant.Version + 1,
            UpdatedAt = now,
            HasRefreshToken = tokens.RefreshToken is not null,
        };

    /// <summary>
    /// The grant's tokens; null when there is no grant or its tokens do not decrypt (logged). A session-keyed grant
    /// opens only under the current request's session key; <see cref="TryReadOtherSessionsTokens"/> is for callers that
    /// may hold another session's key.
    /// </summary>
    public TokenSet? ReadTokens(GrantRecord? grant)
    {
        if (grant is null)
        {
            return null;
        }

        if (grant.SessionKeyed && SessionKeyScope.Key is null)
        {
            return null; // Not a failure: no request of its session is running (a sweep, a worker). The caller decides.
        }

        var tokens = grant.SessionKeyed
            ? SplitKeyTokens.Unprotect(grant.Tokens, grant.Id, SessionKeyScope.Key)
            : tokenProtector.Unprotect(grant.Tokens, grant.Id);
        if (tokens is null)
        {
            Diagnostics.Log.VaultDecryptFailed(logger, grant.Id);
        }

        return tokens;
    }

    /// <summary>
    /// For ending a grant that may belong to another session than the request's ("log out everywhere", an operator):
    /// a session-keyed grant that the request's key does not open is expected, not tampering, so it is not logged as a
    /// failed decryption. Any other grant reads as with <see cref="ReadTokens"/>.
    /// </summary>
    public TokenSet? TryReadOtherSessionsTokens(GrantRecord grant) =>
        !grant.SessionKeyed ? ReadTokens(grant)
        : SessionKeyScope.Key is { } key ? SplitKeyTokens.Unprotect(grant.Tokens, grant.Id, key)
        : null;

    private static readonly SessionKeyProtector<TokenSet> SplitKeyTokens = new(ProtectionPurposes.SplitKeyTokens, VaultJsonContext.Default.TokenSet);

    private byte[] Seal(TokenSet tokens, string grantId, bool sessionKeyed) =>
        !sessionKeyed
            ? tokenProtector.Protect(tokens, grantId)
            : SplitKeyTokens.Protect(tokens, grantId, SessionKeyScope.Key ?? throw new InvalidOperationException("A session-keyed grant is written only in a request that carries its key."));
}
