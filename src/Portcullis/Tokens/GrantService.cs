using Microsoft.Extensions.Logging;
using Portcullis.Agent;
using Portcullis.Storage;
using Portcullis.Vault;

namespace Portcullis.Tokens;

/// <summary>
/// One grant per user and provider (seed 002): a new login replaces the grant's tokens. The refresh token it supersedes
/// is revoked only where the provider's preset says that cannot touch the new tokens' grant (ADR 0020); otherwise it is
/// forgotten and expires at the provider.
/// </summary>
internal sealed class GrantService(
    IGrantStore store,
    RecordProtector<TokenSet> tokenProtector,
    RevocationQueue revocations,
    ProviderRegistry providers,
    TimeProvider time,
    ILogger<GrantService> logger)
{
    public async Task<GrantRecord> StoreLoginTokensAsync(string userId, string provider, TokenSet tokens, CancellationToken cancellationToken)
    {
        while (true)
        {
            var now = time.GetUtcNow();
            var existing = await store.FindGrantAsync(userId, provider, cancellationToken);
            var grant = existing is null
                ? NewGrant(Identifiers.NewId(), userId, provider, tokens, now)
                : NextVersion(existing, tokens, now);
            if (!await store.SaveGrantAsync(grant, existing?.Version ?? 0, cancellationToken))
            {
                continue; // Another login or refresh of the same grant won the race: re-read and try again.
            }

            if (existing is not null
                && ReadTokens(existing) is { RefreshToken: { } superseded } previous
                && superseded != tokens.RefreshToken
                && providers.Find(provider)?.Preset.MayRevokeSupersededRefreshToken(previous.IdToken, tokens.IdToken) == true)
            {
                await revocations.EnqueueAsync(provider, userId, superseded, "refresh_token", tokenExpiresAt: null);
            }

            return grant;
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
