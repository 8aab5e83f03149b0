using Portcullis.Tests.Infrastructure;

namespace Portcullis.Bench.Reporting;

/// <summary>Writes the full report to bench/results and replaces the latest summary in docs/benchmarks.md between its markers.</summary>
internal static class ResultsWriter
{
    public const string StartMarker = "<!-- bench:latest:start -->";
    public const string EndMarker = "<!-- bench:latest:end -->";

    public static string Write(BenchReport report)
    {
        var resultsDirectory = Path.Combine(RepositoryPaths.Root, "bench", "results");
        Directory.CreateDirectory(resultsDirectory);
        var relative = $"bench/results/{report.FileName}";
        File.WriteAllText(Path.Combine(RepositoryPaths.Root, relative), report.Full());
        if (!report.HasMeasurements)
        {
            return relative;
        }

        var docs = Path.Combine(RepositoryPaths.Root, "docs", "benchmarks.md");
        var text = File.ReadAllText(docs);
        var start = text.IndexOf(StartMarker, StringComparison.Ordinal);
        var end = text.IndexOf(EndMarker, StringComparison.Ordinal);
        if (start < 0 || end < start)
        {
            throw new InvalidOperationException($"docs/benchmarks.md lacks the markers {StartMarker} … {EndMarker}; the report is in {relative}.");
        }

        var updated = text[..(start + StartMarker.Length)] + "\n" + report.Short(relative) + text[end..];
        File.WriteAllText(docs, updated);
        return relative;
    }
}
