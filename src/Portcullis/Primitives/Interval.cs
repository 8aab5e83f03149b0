namespace Portcullis.Primitives;

/// <summary>
/// The beat of a background sweep, on the gateway's clock. Used instead of a <see cref="PeriodicTimer"/>: a periodic
/// timer on a test's <c>FakeTimeProvider</c> fires once for every period of an advanced span, so moving a test's clock by
/// half a year ran the one-minute sweeps' timers about 580,000 times (12.8 s of a test that otherwise takes 0.1 s).
/// This one keeps the same beat but arms a one-shot delay to the next due time only: a clock that jumped past several
/// beats, or moved on while the sweep ran, gives one catch-up run, as a periodic timer's one pending tick does, never
/// one run per missed beat.
/// </summary>
internal sealed class Interval(TimeSpan period, TimeProvider time)
{
    private DateTimeOffset _due = time.GetUtcNow() + period;

    /// <summary>
    /// Waits until the next beat is due (not at all when it already is), then continues on the thread pool even when a
    /// test's clock completed the delay on its own thread, so the sweep never runs inside the test's <c>Advance</c>.
    /// </summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        var wait = _due - time.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        }

        // The next beat keeps the rhythm; when the clock is already past it, it is due at once, and only once.
        var now = time.GetUtcNow();
        _due = _due + period > now ? _due + period : now;
    }
}
