using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Audit;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Storage;

namespace Portcullis.Tokens;

/// <summary>
/// Sends queued revocations, retrying failures with exponential backoff until the provider accepts them or the token
/// is past use. Each row is claimed atomically, so several gateway nodes can run this worker against one store.
/// Every outcome goes to the audit log.
/// </summary>
internal sealed class RevocationWorker(
    IRevocationOutbox store,
    RevocationQueue queue,
    RevocationService revocation,
    ProviderRegistry providers,
    AuditLog audit,
    PortcullisMetrics metrics,
    IOptions<PortcullisOptions> options,
    TimeProvider time,
    ILogger<RevocationWorker> logger) : BackgroundService
{
    private const int BatchSize = 20;

    private readonly RevocationOptions _options = options.Value.Revocation;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Session.Mode == SessionModes.Stateless)
        {
            return; // No outbox: a stateless logout revokes at once and logs what failed (ADR 0033).
        }

        // Polling catches work queued by other nodes and retries that came due; waking catches this node's own work at once.
        var pollInterval = TimeSpan.FromTicks(Math.Clamp(_options.RetryDelay.Ticks / 2, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(5).Ticks));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await ProcessDueAsync(stoppingToken) == BatchSize)
                {
                }

                // Counted where the queue is worked anyway, so a scrape never waits for the store.
                metrics.RevocationsPending(await store.CountPendingRevocationsAsync(stoppingToken));

                await queue.WaitForWorkAsync(pollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                Log.RevocationWorkFailed(logger, exception.GetType().Name);
                // Tried again after the poll interval, or at once when this node queues a revocation: the store answered
                // that. A plain delay ignored such work for the whole interval (and forever on a clock that stood still).
                await queue.WaitForWorkAsync(pollInterval, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task<int> ProcessDueAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // The claim lasts longer than one attempt can take, so a crash mid-attempt only delays the row.
        var due = await store.ClaimDueRevocationsAsync(now, now + _options.Timeout * 3, BatchSize, cancellationToken);
        await Task.WhenAll(due.Select(AttemptAsync));
        return due.Count;
    }

    private async Task AttemptAsync(PendingRevocationRecord record)
    {
        var token = queue.Read(record);
        var provider = providers.Find(record.Provider);
        if (token is null || provider is null || record.GiveUpAt <= time.GetUtcNow())
        {
            var reason = token is null ? "the stored token no longer decrypts" : provider is null ? "the provider is no longer configured" : "the token is past use";
            await AbandonAsync(record, token?.TokenTypeHint ?? "token", reason);
            return;
        }

        var result = await revocation.RevokeAsync(provider, token.Token, token.TokenTypeHint, CancellationToken.None);
        var attempts = record.Attempts + 1;
        switch (result)
        {
            case RevocationResult.Revoked:
                // The trail first: a crash between the two then costs one more (harmless) revocation, never a revocation
                // nobody can see; and whoever watches the queue drain finds the audit entry already written.
                await audit.RecordAsync(AuditEvents.Revocation, AuditOutcomes.Success, record.UserId, record.Provider, detail: $"{token.TokenTypeHint}, attempt {attempts}");
                await store.DeletePendingRevocationAsync(record.Id, CancellationToken.None);
                break;
            case RevocationResult.NotSupported:
                await AbandonAsync(record, token.TokenTypeHint, "the provider has no revocation endpoint");
                break;
            default:
                var delay = TimeSpan.FromTicks(Math.Min(_options.MaxRetryDelay.Ticks, _options.RetryDelay.Ticks * (1L << Math.Min(attempts - 1, 20))));
                await store.UpdatePendingRevocationAsync(record.Id, attempts, time.GetUtcNow() + delay, CancellationToken.None);
                await audit.RecordAsync(AuditEvents.Revocation, AuditOutcomes.Failed, record.UserId, record.Provider, detail: $"{token.TokenTypeHint}, attempt {attempts}; retry in {delay.TotalSeconds:0.#} s");
                break;
        }
    }

    private async Task AbandonAsync(PendingRevocationRecord record, string tokenKind, string reason)
    {
        Log.RevocationAbandoned(logger, tokenKind, record.Provider, record.Attempts, reason);
        await audit.RecordAsync(AuditEvents.Revocation, AuditOutcomes.Abandoned, record.UserId, record.Provider, detail: $"{tokenKind}: {reason}");
        await store.DeletePendingRevocationAsync(record.Id, CancellationToken.None);
    }
}
