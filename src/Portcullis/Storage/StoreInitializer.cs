using Microsoft.Extensions.Hosting;

namespace Portcullis.Storage;

/// <summary>
/// Creates or migrates the schema before the gateway takes requests (an unreachable store stops start-up), then
/// deletes expired sessions and login transactions periodically.
/// </summary>
internal sealed class StoreInitializer(IPortcullisStore store, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan CleanupInterval = TimeSpan.FromMinutes(5);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CleanupInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await store.DeleteExpiredAsync(time.GetUtcNow(), stoppingToken);
        }
    }
}
