using Microsoft.Extensions.Options;
using Portcullis.Audit;
using Portcullis.Configuration;
using Portcullis.Storage;
using Portcullis.Vault;

namespace Portcullis.Tokens;

/// <summary>A token waiting to be revoked, as it exists only in memory and, encrypted, in the store.</summary>
internal sealed record PendingToken(string Token, string TokenTypeHint);

/// <summary>
/// Revocation that never blocks (DESIGN.md invariant 7): a token to revoke is first stored, encrypted and bound to its
/// row, then the <see cref="RevocationWorker"/> is woken to send it. A logout therefore answers at once even when
/// the provider is down, and a revocation survives a restart of the node that queued it.
/// </summary>
internal sealed class RevocationQueue(
    IRevocationOutbox store,
    RecordProtector<PendingToken> protector,
    AuditLog audit,
    IOptions<PortcullisOptions> options,
    TimeProvider time)
{
    private readonly SemaphoreSlim _wake = new(0);

    public async Task EnqueueAsync(string provider, string? userId, string token, string tokenTypeHint, DateTimeOffset? tokenExpiresAt)
    {
        var now = time.GetUtcNow();
        var id = Identifiers.NewId();
        // An access token is useless once expired, so retrying past that point achieves nothing.
        var giveUpAt = tokenTypeHint == "access_token" && tokenExpiresAt is { } expiry ? expiry : now + options.Value.Revocation.GiveUpAfter;
        await store.SavePendingRevocationAsync(
            new PendingRevocationRecord(id, provider, userId, protector.Protect(new PendingToken(token, tokenTypeHint), id), 0, now, giveUpAt, now),
            CancellationToken.None);
        await audit.RecordAsync(AuditEvents.Revocation, AuditOutcomes.Queued, userId, provider, detail: tokenTypeHint);
        Wake();
    }

    public PendingToken? Read(PendingRevocationRecord record) => protector.Unprotect(record.Token, record.Id);

    /// <summary>Asks the worker to look at the queue now rather than at its next poll.</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    public Task<bool> WaitForWorkAsync(TimeSpan timeout, CancellationToken cancellationToken) => _wake.WaitAsync(timeout, cancellationToken);
}
