using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Primitives;

namespace Portcullis.Storage;

/// <summary>
/// Creates or migrates the schema before the gateway takes requests (an unreachable store stops start-up), then
/// deletes expired rows periodically. A failed cleanup is logged and tried again at the next tick. The sessions a sweep
/// finds expired are the ones that ended <c>idle</c> or <c>absolute</c> in <c>portcullis.sessions.ended</c> (expiry
/// itself is a filter on read, so the sweep is where it becomes an event).
/// </summary>
internal sealed class StoreInitializer(
    IStoreLifecycle store,
    IServiceProvider services,
    IOptions<PortcullisOptions> options,
    TimeProvider time,
    Diagnostics.PortcullisMetrics metrics,
    ILogger<StoreInitializer> logger)
    : BackgroundService
{
    private static readonly TimeSpan CleanupInterval = TimeSpan.FromMinutes(5);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await InitializeStoreAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    /// <summary>Migrates the store; any failure becomes a <see cref="StoreUnavailableException"/> naming the configuration key.</summary>
    public async Task InitializeStoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.InitializeAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not (OperationCanceledException or StoreUnavailableException))
        {
            // Name the key to fix and where the store was looked for; never the connection string itself (it may hold a password).
            var configured = options.Value.Store;
            throw new StoreUnavailableException(
                $"{PortcullisOptions.SectionName}:Store:ConnectionString: the {configured.Kind} store at {StoreRegistration.Selected(services).Describe(configured.ConnectionString)} "
                + $"could not be reached or initialised ({exception.GetType().Name}: {exception.Message}).",
                exception);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = new Interval(CleanupInterval, time);
        while (!stoppingToken.IsCancellationRequested)
        {
            await interval.WaitAsync(stoppingToken);
            try
            {
                var now = time.GetUtcNow();
                var sweep = await store.DeleteExpiredAsync(now, now - options.Value.Audit.Retention, stoppingToken);
                metrics.SessionsEnded(Diagnostics.SessionEndReasons.Idle, sweep.IdleSessions);
                metrics.SessionsEnded(Diagnostics.SessionEndReasons.Absolute, sweep.AbsoluteSessions);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                Diagnostics.Log.StoreCleanupFailed(logger, exception.GetType().Name);
            }
        }
    }
}
