using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Portcullis.Sessions;

/// <summary>
/// Ends grants whose sessions ended without a logout: idle or absolute expiry and back-channel logout delete sessions
/// but not their grants, and an unused grant's refresh token would otherwise stay valid at the provider (ADR 0027,
/// issue 17 item 9). Runs on the gateway's clock, so a test moves it with a <c>FakeTimeProvider</c>.
/// </summary>
internal sealed class UnusedGrantSweep(SessionTermination termination, SessionService sessions, TimeProvider time, ILogger<UnusedGrantSweep> logger) : BackgroundService
{
    internal static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private const int Batch = 100;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (sessions.Stateless)
        {
            return; // No grants kept: a stateless session's tokens leave with its cookies (ADR 0033).
        }

        var interval = new Primitives.Interval(Interval, time);
        while (!stoppingToken.IsCancellationRequested)
        {
            await interval.WaitAsync(stoppingToken);
            try
            {
                // Batches until a short one, so a backlog (say, after an outage) drains in one tick without one long query.
                while (await termination.EndUnusedGrantsAsync(Batch, stoppingToken) == Batch)
                {
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                Diagnostics.Log.UnusedGrantSweepFailed(logger, exception.GetType().Name);
            }
        }
    }
}
