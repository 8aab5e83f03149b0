using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Diagnostics.Otlp;

/// <summary>
/// A real OTLP/gRPC receiver on loopback (what a collector listens on at 4317): ASP.NET Core gRPC over cleartext HTTP/2,
/// with the trace and metrics services generated from the specification's .proto files (proto/README.md). It keeps every
/// span and metric it is sent, with the name of the instrumentation scope that produced it.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Received _received;

    private OtlpReceiver(WebApplication app, Received received, int port)
    {
        _app = app;
        _received = received;
        Endpoint = $"http://127.0.0.1:{port}";
    }

    /// <summary>The value for <c>Portcullis:Telemetry:Otlp:Endpoint</c>.</summary>
    public string Endpoint { get; }

    public IReadOnlyCollection<ReceivedSpan> Spans => _received.Spans;

    public IReadOnlyCollection<ReceivedMetric> Metrics => _received.Metrics;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var port = FreePort.Next();
        var received = new Received();
        var builder = WebApplication.CreateSlimBuilder();
        // gRPC without TLS: HTTP/2 with prior knowledge, as an OTLP exporter speaks to an http:// endpoint.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(received);
        var app = builder.Build();
        app.MapGrpcService<TraceReceiver>();
        app.MapGrpcService<MetricsReceiver>();
        await app.StartAsync();
        return new OtlpReceiver(app, received, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    internal sealed class Received
    {
        public ConcurrentQueue<ReceivedSpan> Spans { get; } = new();

        public ConcurrentQueue<ReceivedMetric> Metrics { get; } = new();
    }

    private sealed class TraceReceiver(Received received) : TraceService.TraceServiceBase
    {
        public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
        {
            foreach (var scope in request.ResourceSpans.SelectMany(r => r.ScopeSpans))
            {
                foreach (var span in scope.Spans)
                {
                    received.Spans.Enqueue(new ReceivedSpan(
                        scope.Scope?.Name ?? "",
                        span.Name,
                        Convert.ToHexStringLower(span.TraceId.Span),
                        Convert.ToHexStringLower(span.SpanId.Span),
                        Convert.ToHexStringLower(span.ParentSpanId.Span),
                        span.Attributes.ToDictionary(a => a.Key, a => a.Value.StringValue)));
                }
            }

            return Task.FromResult(new ExportTraceServiceResponse());
        }
    }

    private sealed class MetricsReceiver(Received received) : MetricsService.MetricsServiceBase
    {
        public override Task<ExportMetricsServiceResponse> Export(ExportMetricsServiceRequest request, ServerCallContext context)
        {
            foreach (var scope in request.ResourceMetrics.SelectMany(r => r.ScopeMetrics))
            {
                foreach (var metric in scope.Metrics)
                {
                    var sum = metric.Sum?.DataPoints.Sum(p => p.AsInt) ?? 0;
                    var count = metric.Histogram?.DataPoints.Sum(p => (long)p.Count) ?? 0;
                    received.Metrics.Enqueue(new ReceivedMetric(scope.Scope?.Name ?? "", metric.Name, sum, count));
                }
            }

            return Task.FromResult(new ExportMetricsServiceResponse());
        }
    }
}

/// <summary>One exported span; ids in lower-case hex, the parent's empty for a root span.</summary>
public sealed record ReceivedSpan(string Scope, string Name, string TraceId, string SpanId, string ParentSpanId, IReadOnlyDictionary<string, string> Attributes);

/// <summary>One exported metric: a counter's total over its data points, a histogram's count of measurements.</summary>
public sealed record ReceivedMetric(string Scope, string Name, long Sum, long Count);
