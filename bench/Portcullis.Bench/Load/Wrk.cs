using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Portcullis.Bench.Load;

/// <summary>One wrk run (fixed connections, threads and duration, <c>--latency</c>) and what it reported.</summary>
internal static partial class Wrk
{
    /// <param name="cpus">A <c>taskset -c</c> list wrk is confined to (the one-CPU phase keeps it off the proxies' CPU); null: any.</param>
    public static async Task<WrkResult> RunAsync(string url, int connections, int threads, int durationSeconds, IReadOnlyDictionary<string, string>? headers = null, string? cpus = null)
    {
        var start = new ProcessStartInfo(cpus is null ? "wrk" : "taskset")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (cpus is not null)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(cpus);
            start.ArgumentList.Add("wrk");
        }

        var arguments = WrkArguments(connections, threads, durationSeconds);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            start.ArgumentList.Add("-H");
            start.ArgumentList.Add($"{name}: {value}");
        }

        start.ArgumentList.Add(url);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk could not be started; bench/run.sh installs it.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = await stdout;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"wrk exited with {process.ExitCode}: {await stderr}\n{output}");
        }

        return Parse(output);
    }

    /// <summary>
    /// An unrecorded loaded run, so a freshly started server is measured after JIT and connection pools settled; longer
    /// when the servers are confined to one CPU (<paramref name="cpus"/> set), where tiering takes longer.
    /// </summary>
    public static async Task WarmUpAsync(string url, BenchSettings settings, IReadOnlyDictionary<string, string>? headers, string? cpus = null)
    {
        var seconds = cpus is null ? settings.WarmupSeconds : settings.OneCpuWarmupSeconds;
        if (seconds > 0)
        {
            await RunAsync(url, settings.Connections, settings.Threads, seconds, headers, cpus);
        }
    }

    /// <summary>The wrk options of a run, as written in the report.</summary>
    public static string[] WrkArguments(int connections, int threads, int durationSeconds) =>
        ["-t", Invariant(Math.Min(threads, connections)), "-c", Invariant(connections), "-d", $"{Invariant(durationSeconds)}s", "--timeout", "10s", "--latency"];

    public static WrkResult Parse(string output)
    {
        var requestsPerSecond = double.Parse(RequestsPerSecond().Match(output) is { Success: true } rps
            ? rps.Groups[1].Value
            : throw new FormatException("wrk output has no Requests/sec line:\n" + output), CultureInfo.InvariantCulture);
        var requests = long.Parse(TotalRequests().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var non2xx = NonSuccess().Match(output) is { Success: true } n ? long.Parse(n.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var socketErrors = SocketErrors().Match(output) is { Success: true } s
            ? Enumerable.Range(1, 4).Sum(g => long.Parse(s.Groups[g].Value, CultureInfo.InvariantCulture))
            : 0;
        return new WrkResult(requestsPerSecond, Percentile(output, "50"), Percentile(output, "99"), requests, non2xx, socketErrors);
    }

    private static double Percentile(string output, string percent)
    {
        var match = Regex.Match(output, $@"^\s+{percent}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", RegexOptions.Multiline);
        if (!match.Success)
        {
            throw new FormatException($"wrk output has no {percent}% latency line (was --latency given?):\n{output}");
        }

        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "us" => value / 1000,
            "ms" => value,
            "s" => value * 1000,
            "m" => value * 60_000,
            _ => value * 3_600_000,
        };
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex TotalRequests();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();
}

/// <summary>Throughput and latency of one run; latencies in milliseconds. Errors are non-2xx/3xx answers plus socket errors.</summary>
internal sealed record WrkResult(double RequestsPerSecond, double P50Ms, double P99Ms, long Requests, long Non2xx, long SocketErrors)
{
    public long Errors => Non2xx + SocketErrors;

    /// <summary>
    /// CPU time the server under test spent per request of this run, in microseconds (its process's user plus system
    /// time over the run, divided by the requests): what a request costs, steadier than requests/s on a machine whose
    /// cores the load generator and the upstream share. Null where it was not measured.
    /// </summary>
    public double? ServerCpuMicrosecondsPerRequest { get; init; }
}
