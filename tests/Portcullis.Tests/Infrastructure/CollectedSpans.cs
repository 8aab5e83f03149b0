using System.Collections.Concurrent;
using System.Diagnostics;

namespace Portcullis.Tests.Infrastructure;

/// <summary>
/// Every finished span of the given sources in this process. Spans are global, so a test picks its own by the trace id
/// it sent in a <c>traceparent</c> header (<see cref="NewTraceParent"/>).
/// </summary>
public sealed class CollectedSpans : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<Activity> _spans = new();

    public CollectedSpans(params string[] sources)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => sources.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public Activity[] InTrace(ActivityTraceId traceId) => _spans.Where(s => s.TraceId == traceId).ToArray();

    /// <summary>A fresh W3C trace context for a request, and its trace id.</summary>
    public static (string Header, ActivityTraceId TraceId) NewTraceParent()
    {
        var traceId = ActivityTraceId.CreateRandom();
        return ($"00-{traceId}-{ActivitySpanId.CreateRandom()}-01", traceId);
    }

    public void Dispose() => _listener.Dispose();
}
