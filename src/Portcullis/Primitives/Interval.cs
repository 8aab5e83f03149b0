namespace Portcullis.Primitives;

/// <summary>
/// The pause between two runs of a background sweep, on the gateway's clock. Used instead of a
/// <see cref="PeriodicTimer"/>: a periodic timer on a test's <c>FakeTimeProvider</c> fires once for every period in an
/// advanced span, so moving a test's clock by half a year ran the one-minute sweeps' timers about 580,000 times
/// (12.8 s of a test that otherwise takes 0.1 s). A one-shot delay is armed again only after the sweep has run, so a
/// long jump of the clock wakes each sweep once, as a host that slept through the span would. On a real clock the two
/// behave alike, except that the pause starts after each run instead of on a fixed beat, which no sweep needs.
/// </summary>
internal static class Interval
{
    /// <summary>
    /// Waits <paramref name="interval"/>, then continues on the thread pool even when a test's clock completed the
    /// delay on its own thread: the sweep then never runs inside the test's <c>Advance</c> call.
    /// </summary>
    public static async Task WaitAsync(TimeSpan interval, TimeProvider time, CancellationToken cancellationToken) =>
        await Task.Delay(interval, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
}
