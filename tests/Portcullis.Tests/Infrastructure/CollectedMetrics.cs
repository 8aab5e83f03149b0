using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Portcullis.Diagnostics;

namespace Portcullis.Tests.Infrastructure;

/// <summary>
/// Every measurement of one gateway's <c>Portcullis</c> meter, collected in-process with a <see cref="MeterListener"/>.
/// Only that host's meter is heard (its <see cref="IMeterFactory"/> is the meter's scope), so tests running in
/// parallel do not see each other's numbers.
/// </summary>
public sealed class CollectedMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<RecordedMeasurement> _measurements = new();

    public CollectedMetrics(IServiceProvider services)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == PortcullisTelemetry.Name && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>The measurements of <paramref name="instrument"/> whose attributes include all of <paramref name="tags"/>.</summary>
    public RecordedMeasurement[] Of(string instrument, params (string Key, string Value)[] tags) =>
        _measurements.Where(m => m.Instrument == instrument && tags.All(t => m.Tags.TryGetValue(t.Key, out var v) && Equals(v, t.Value))).ToArray();

    /// <summary>The sum of a counter's measurements with these attributes.</summary>
    public double Sum(string instrument, params (string Key, string Value)[] tags) => Of(instrument, tags).Sum(m => m.Value);

    /// <summary>Reads the observable instruments (gauges) now; their values land among the measurements.</summary>
    public RecordedMeasurement[] Observe(string instrument)
    {
        _listener.RecordObservableInstruments();
        return Of(instrument);
    }

    /// <summary>Every attribute value recorded on any instrument.</summary>
    public IEnumerable<string> AllAttributeValues() => _measurements.SelectMany(m => m.Tags.Values).Select(v => v?.ToString() ?? "");

    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        _measurements.Enqueue(new RecordedMeasurement(instrument.Name, value, copy));
    }
}

public sealed record RecordedMeasurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);
