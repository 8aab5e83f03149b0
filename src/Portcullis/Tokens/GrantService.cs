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
        while (true)
        {
            var grant = NewGrant(Identifiers.NewId(), userId, provider, tokens, time.GetUtcNow()) with { Offline = offline };
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
            Tokens = tokenProtector.Protect(tokens, grant.Id),
            AccessTokenExpiresAt = tokens.AccessTokenExpiresAt,
            Version = grant.Version + 1,
            UpdatedAt = now,
            HasRefreshToken = tokens.RefreshToken is not null,
        };

    /// <summary>The grant's tokens; null when there is no grant or its tokens do not decrypt (logged).</summary>
    public TokenSet? ReadTokens(GrantRecord? grant)
    {
        if (grant is null)
        {
            return null;
        }

        var tokens = tokenProtector.Unprotect(grant.Tokens, grant.Id);
        if (tokens is null)
        {
            Diagnostics.Log.VaultDecryptFailed(logger, grant.Id);
        }

        return tokens;
    }

    private GrantRecord NewGrant(string id, string userId, string provider, TokenSet tokens, DateTimeOffset now) =>
        new(id, userId, provider, tokenProtector.Protect(tokens, id), tokens.AccessTokenExpiresAt, 1, now, tokens.RefreshToken is not null);
}
