using Microsoft.Extensions.Logging;
using Portcullis.Agent;
using Portcullis.Storage;
using Portcullis.Vault;

namespace Portcullis.Tokens;

/// <summary>
/// One grant per user and provider (seed 002): a new login replaces the grant's tokens, and the refresh token it
/// supersedes is revoked so grants do not pile up at the provider.
/// </summary>
internal sealed class GrantService(
    IPortcullisStore store,
    RecordProtector<TokenSet> tokenProtector,
    RevocationService revocation,
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
            var id = existing?.Id ?? Identifiers.NewId();
            var grant = new GrantRecord(id, userId, provider, tokenProtector.Protect(tokens, id), tokens.AccessTokenExpiresAt, (existing?.Version ?? 0) + 1, now);
            if (!await store.SaveGrantAsync(grant, existing?.Version ?? 0, cancellationToken))
            {
                continue; // Another login or refresh of the same grant won the race: re-read and try again.
            }

            if (existing is not null && ReadTokens(existing) is { RefreshToken: { } superseded } && superseded != tokens.RefreshToken
                && providers.Find(provider) is { } runtime)
            {
                await revocation.RevokeAsync(runtime, superseded, "refresh_token", cancellationToken);
            }

            return grant;
        }
    }

    public TokenSet? ReadTokens(GrantRecord grant)
    {
        var tokens = tokenProtector.Unprotect(grant.Tokens, grant.Id);
        if (tokens is null)
        {
            Diagnostics.Log.VaultDecryptFailed(logger, grant.Id);
        }

        return tokens;
    }

    public async Task<TokenSet?> ReadTokensAsync(string grantId, CancellationToken cancellationToken) =>
        await store.GetGrantAsync(grantId, cancellationToken) is { } grant ? ReadTokens(grant) : null;

    public byte[] Protect(TokenSet tokens, string grantId) => tokenProtector.Protect(tokens, grantId);
}
