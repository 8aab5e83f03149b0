using Microsoft.Extensions.Time.Testing;
using Portcullis.Primitives;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Lifecycle;

/// <summary>
/// The beat of the background sweeps (<see cref="Interval"/>): a long jump of the clock wakes a sweep a couple of times,
/// not once per missed beat, and a clock that moves on while a sweep runs is not lost, as with a periodic timer.
/// </summary>
public sealed class IntervalTests
{
    private static readonly TimeSpan Beat = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task HalfAYearOfOneMinuteBeatsWakesTheSweepAFewTimesNotOncePerBeat()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var sweep = new Sweep(new Interval(Beat, clock));
        using var stop = new CancellationTokenSource();
        var loop = sweep.RunAsync(stop.Token);

        clock.Advance(TimeSpan.FromDays(184));
        await Eventually.Until(() => Task.FromResult(sweep.Runs), runs => runs >= 1, "the jump to wake the sweep");
        await Task.Delay(TimeSpan.FromMilliseconds(300)); // real: room for runs that should not come
        var afterJump = sweep.Runs;
        // A periodic timer on this clock ran 264,960 times here. The usual answer is 2 (the beat, then its catch-up);
        // a pool thread racing the clock's own loop can add one or two.
        Assert.InRange(afterJump, 1, 5);

        // And it keeps its beat afterwards.
        clock.Advance(Beat);
        await Eventually.Until(() => Task.FromResult(sweep.Runs), runs => runs > afterJump, "the next beat");

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop);
    }

    [Fact]
    public async Task AClockThatMovesOnWhileTheSweepRunsGivesOneMoreRunAtOnce()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var sweep = new Sweep(new Interval(Beat, clock)) { Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        using var stop = new CancellationTokenSource();
        var loop = sweep.RunAsync(stop.Token);

        clock.Advance(Beat);
        await sweep.Started.Task.WaitAsync(TimeSpan.FromSeconds(15));
        clock.Advance(Beat); // while the first run is still going
        sweep.Hold.SetResult();

        // Without the catch-up, the next run would wait for a third minute the clock never reaches.
        await Eventually.Until(() => Task.FromResult(sweep.Runs), runs => runs == 2, "the catch-up run");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop);
    }

    /// <summary>A sweep loop as the gateway's background services write it, counting its runs.</summary>
    private sealed class Sweep(Interval interval)
    {
        private int _runs;

        public int Runs => Volatile.Read(ref _runs);

        /// <summary>When set, the first run waits for it (a sweep still busy when the clock moves on).</summary>
        public TaskCompletionSource? Hold { get; init; }

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task RunAsync(CancellationToken stop)
        {
            while (true)
            {
                await interval.WaitAsync(stop);
                Started.TrySetResult();
                if (Hold is { } hold && Runs == 0)
                {
                    await hold.Task;
                }

                Interlocked.Increment(ref _runs);
            }
        }
    }
}
