using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Portcullis.Diagnostics;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Diagnostics;

/// <summary>
/// Issue 19: <c>deploy/grafana/portcullis.json</c> charts the gateway's metrics. Every metric a panel queries must be one
/// the gateway exports (a renamed instrument breaks the test, not the operator's dashboard), and every instrument of the
/// <c>Portcullis</c> meter is charted. The Prometheus names are derived from the instruments by the exporter's rules,
/// and the derivation is checked against a real scrape.
/// </summary>
public sealed partial class GrafanaDashboardTests
{
    [Fact]
    public async Task EveryQueriedMetricIsExportedAndEveryInstrumentIsCharted()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            TestStack.OrdersRoute(upstream.Url)(s);
            s["Portcullis:Telemetry:Prometheus"] = "true";
        });
        var exported = ExportedFamilies(InstrumentsOf(stack.Gateway));

        // The derivation matches what the exporter writes, for every family a login and a proxied call produce.
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf);
        using var http = new HttpClient();
        var scrape = await Eventually.Until(
            () => http.GetStringAsync($"{stack.Origin}/metrics"),
            body => body.Contains("portcullis_proxy_requests", StringComparison.Ordinal),
            "the proxied call in the scrape");
        var scraped = TypeLine().Matches(scrape).Select(m => m.Groups["name"].Value).Where(n => n.StartsWith("portcullis_", StringComparison.Ordinal)).ToHashSet();
        Assert.NotEmpty(scraped);
        Assert.Subset(exported.Keys.ToHashSet(), scraped);

        var queried = QueriedFamilies(exported);
        Assert.NotEmpty(queried);
        foreach (var (family, expression) in queried)
        {
            Assert.True(exported.ContainsKey(family), $"The dashboard queries {family} ({expression}), which the gateway does not export.");
        }

        foreach (var (family, instrument) in exported)
        {
            Assert.True(queried.Any(q => q.Family == family), $"The dashboard has no panel for {instrument} ({family}).");
        }
    }

    /// <summary>The Portcullis meter's instruments, as the gateway's own meter factory published them.</summary>
    private static List<Instrument> InstrumentsOf(GatewayHost gateway)
    {
        var factory = gateway.Get<IMeterFactory>();
        var instruments = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == PortcullisTelemetry.Name && instrument.Meter.Scope == factory)
                {
                    instruments.Add(instrument);
                }
            },
        };
        listener.Start();
        return instruments;
    }

    /// <summary>
    /// OpenTelemetry's Prometheus naming: dots become underscores, the unit <c>s</c> adds <c>_seconds</c>, an annotation
    /// unit in braces adds nothing, a counter adds <c>_total</c>. Keyed by family name, valued by instrument name.
    /// </summary>
    private static Dictionary<string, string> ExportedFamilies(List<Instrument> instruments) =>
        instruments.ToDictionary(
            instrument => instrument.Name.Replace('.', '_')
                + (instrument.Unit == "s" ? "_seconds" : string.Empty)
                + (instrument.GetType().Name.StartsWith("Counter", StringComparison.Ordinal) ? "_total" : string.Empty),
            instrument => instrument.Name);

    /// <summary>Every <c>portcullis_*</c> series in the panels' expressions, as the family it belongs to.</summary>
    private static List<(string Family, string Expression)> QueriedFamilies(Dictionary<string, string> exported)
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "deploy", "grafana", "portcullis.json")));
        var found = new List<(string, string)>();
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                var expression = target.GetProperty("expr").GetString()!;
                foreach (Match series in SeriesName().Matches(expression))
                {
                    var name = series.Value;
                    var family = exported.ContainsKey(name) ? name : HistogramSuffix().Replace(name, string.Empty);
                    found.Add((family, expression));
                }
            }
        }

        return found;
    }

    [GeneratedRegex(@"^# TYPE (?<name>\S+) ", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"\bportcullis_[a-z0-9_]+")]
    private static partial Regex SeriesName();

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex HistogramSuffix();
}
