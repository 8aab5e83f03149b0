using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Portcullis.Diagnostics;

namespace Portcullis.Gateway;

/// <summary>
/// Turns on the exporters <c>Portcullis:Telemetry</c> asks for: OTLP for metrics and traces
/// (<c>Telemetry:Otlp:Endpoint</c>), Prometheus text on <c>GET /metrics</c> (<c>Telemetry:Prometheus</c>; on the management port when there is one). The library
/// publishes through System.Diagnostics only; the exporters live here (ADR 0026).
/// </summary>
internal static class GatewayTelemetry
{
    private const string EndpointKey = "Telemetry:Otlp:Endpoint";
    private const string PrometheusKey = "Telemetry:Prometheus";

    // The ActivitySource of ASP.NET Core's request activity (Microsoft.AspNetCore.Hosting).
    private const string AspNetCoreSource = "Microsoft.AspNetCore";

    public static void Add(IServiceCollection services, IConfiguration section)
    {
        var otlp = OtlpEndpoint(section);
        var prometheus = section.GetValue<bool>(PrometheusKey);
        if (otlp is null && !prometheus)
        {
            return;
        }

        var telemetry = services.AddOpenTelemetry();
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(PortcullisTelemetry.Name);
            if (prometheus)
            {
                metrics.AddPrometheusExporter();
            }

            if (otlp is not null)
            {
                metrics.AddOtlpExporter(exporter => exporter.Endpoint = otlp);
            }
        });
        if (otlp is not null)
        {
            // The request's own span (ASP.NET Core's source) is sampled and exported too, not only Portcullis'. Without a
            // listener for it, ASP.NET Core still creates that activity (for log scopes) but leaves it unrecorded, and the
            // default sampler, ParentBased(AlwaysOn), then drops every span under it: the login, callback, refresh and
            // forward spans of any request whose caller named no sampled trace, which is every browser request.
            // Sampled by the same rule, the request span is a root (or continues a sampled traceparent) and its
            // children are kept with their parent in the export (ADR 0039; OtlpExportTests).
            telemetry.WithTracing(tracing => tracing
                .AddSource(PortcullisTelemetry.Name, AspNetCoreSource)
                .AddOtlpExporter(exporter => exporter.Endpoint = otlp));
        }
    }

    public static void Map(WebApplication app, IConfiguration section, bool onManagementPort)
    {
        if (!section.GetValue<bool>(PrometheusKey))
        {
            return;
        }

        var scrape = app.MapPrometheusScrapingEndpoint();
        if (onManagementPort)
        {
            scrape.WithMetadata(new GatewayManagement.OnlyOnManagementPort());
        }
    }

    /// <summary>A wrong endpoint stops start-up with a message naming the key (SECURITY.md item 34).</summary>
    private static Uri? OtlpEndpoint(IConfiguration section)
    {
        if (section[EndpointKey] is not { Length: > 0 } value)
        {
            return null;
        }

        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new InvalidOperationException($"Portcullis:{EndpointKey} must be an absolute http or https URL, such as http://127.0.0.1:4317.");
    }
}
