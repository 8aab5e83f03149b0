using System.Diagnostics;
using Portcullis.Bench.Load;
using Portcullis.Bench.Processes;
using Portcullis.Bench.Servers;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Bench.Phases;

/// <summary>
/// Where the authenticated path spends its time: the gateway under the loaded small-JSON load of the overhead phase while
/// <c>dotnet-trace</c> samples its thread stacks, reduced to the methods seen most often on the stack (inclusive, with the
/// frames of the runtime's idle and I/O-wait machinery left in, so shares are of sampled thread time, not of CPU).
/// </summary>
internal static class HotPathProfilePhase
{
    private const int ShownMethods = 40;

    public static async Task<ProfileResult> RunAsync(BenchContext context, TestIdp idp, int gatewayPort)
    {
        var settings = context.Settings;
        var dotnetTrace = Environment.GetEnvironmentVariable("BENCH_DOTNET_TRACE") is { Length: > 0 } configured
            ? configured
            : throw new InvalidOperationException("BENCH_DOTNET_TRACE is not set: run the profile phase through bench/run.sh, which installs dotnet-trace.");
        var origin = $"http://localhost:{gatewayPort}";
        var gatewaySettings = Gateway.Settings(origin, idp, BenchContext.NewDataDirectory("profile"), context.UpstreamUrl);
        // BENCH_PROFILE_SESSION_CACHE=00:00:05 profiles the gateway with the opt-in session cache instead of the default.
        if (Environment.GetEnvironmentVariable("BENCH_PROFILE_SESSION_CACHE") is { Length: > 0 } cache)
        {
            gatewaySettings["Portcullis:Session:CacheDuration"] = cache;
        }

        // BENCH_PROFILE_ONE_CPU=1 confines the gateway to one CPU and wrk to the other, as the one-CPU phase does.
        var placement = Environment.GetEnvironmentVariable("BENCH_PROFILE_ONE_CPU") is "1" ? CpuPlacement.OneCpu : null;
        await using var gateway = await Gateway.StartAsync("gateway", gatewayPort, gatewaySettings, placement?.Proxies);
        var cookie = await Gateway.LoginAsync(origin);
        var url = $"http://127.0.0.1:{gatewayPort}{UpstreamServer.OrdersRoute}{UpstreamServer.Small}";
        var headers = Gateway.AuthenticatedHeaders(cookie);
        await Wrk.WarmUpAsync(url, settings, headers, placement?.Load);

        var traceFile = Path.Combine(BenchContext.NewDataDirectory("trace"), "gateway.nettrace");
        var seconds = settings.DurationSeconds;
        // The load outlasts the trace on both ends, so every sample is of a gateway under steady load.
        var load = Wrk.RunAsync(url, settings.Connections, settings.Threads, seconds + 4, headers, placement?.Load);
        await Task.Delay(TimeSpan.FromSeconds(2));
        await RunToolAsync(dotnetTrace, "collect", "-p", gateway.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--profile", ProfileKind(), "--duration", TimeSpan.FromSeconds(seconds).ToString(@"dd\:hh\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture),
            "-o", traceFile);
        var loaded = await load;
        BenchContext.Log($"profiled load: {loaded.RequestsPerSecond:F0} req/s, p50 {loaded.P50Ms:F3} ms, p99 {loaded.P99Ms:F3} ms, errors {loaded.Errors}");

        // BENCH_PROFILE_KEEP=path keeps the raw trace (for callers and call trees, e.g. `dotnet-trace convert --format speedscope`).
        if (Environment.GetEnvironmentVariable("BENCH_PROFILE_KEEP") is { Length: > 0 } keep)
        {
            File.Copy(traceFile, keep, overwrite: true);
        }

        if (ProfileKind() != "dotnet-sampled-thread-time")
        {
            return new ProfileResult(seconds, loaded, "(an allocation trace: read it from BENCH_PROFILE_KEEP)", "");
        }

        var inclusive = await RunToolAsync(dotnetTrace, "report", traceFile, "topN", "-n", ShownMethods.ToString(System.Globalization.CultureInfo.InvariantCulture), "--inclusive");
        var exclusive = await RunToolAsync(dotnetTrace, "report", traceFile, "topN", "-n", ShownMethods.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new ProfileResult(seconds, loaded, inclusive.Trim(), exclusive.Trim());
    }

    /// <summary>
    /// BENCH_PROFILE_KIND=gc traces allocations and collections instead of thread stacks (dotnet-trace's gc-verbose
    /// profile: an AllocationTick event with the type name about every 100 KB allocated, and every GC with its
    /// generation), for finding what the path allocates per request; the top-methods tables are then empty.
    /// </summary>
    private static string ProfileKind() =>
        Environment.GetEnvironmentVariable("BENCH_PROFILE_KIND") is "gc" ? "gc-verbose" : "dotnet-sampled-thread-time";

    private static async Task<string> RunToolAsync(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} could not be started.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0
            ? await stdout
            : throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stderr}\n{await stdout}");
    }
}

/// <summary>The load the gateway was under while traced, and dotnet-trace's top methods by inclusive and exclusive samples.</summary>
internal sealed record ProfileResult(int Seconds, WrkResult Load, string TopInclusive, string TopExclusive);
