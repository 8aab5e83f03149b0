using System.Text;
using Portcullis.Bench.Load;
using Portcullis.Bench.Phases;
using static Portcullis.Bench.Phases.ProxyOverheadPhase;

namespace Portcullis.Bench.Reporting;

/// <summary>Everything one run measured, written as markdown: the full report for bench/results and its summary for docs.</summary>
internal sealed class BenchReport
{
    // DESIGN.md §7.
    private const double ThroughputTarget = 0.9;
    private const double AddedP99TargetMs = 0.2;

    // Issue 18: the gateway's peak memory against bare YARP's under the same load.
    private const double MemoryTarget = 1.3;

    // Issue 18: a million sessions in PostgreSQL may add at most this to the authenticated request's p99.
    private const double PostgresScaleP99TargetMs = 2.0;

    public required DateTimeOffset StartedAt { get; init; }

    public required BenchSettings Settings { get; init; }

    public required MachineInfo Machine { get; init; }

    public required string LoadAtStart { get; init; }

    public string? LoadAtEnd { get; set; }

    public OverheadResult? Overhead { get; set; }

    /// <summary>The overhead phase again with each proxy confined to one CPU and wrk on the other (BENCH_PHASES onecpu).</summary>
    public OverheadResult? OneCpu { get; set; }

    public IReadOnlyList<ScaleResult>? Scale { get; set; }

    /// <summary>The scale phase on PostgreSQL (BENCH_PHASES pgscale), when a server was there.</summary>
    public IReadOnlyList<ScaleResult>? PostgresScale { get; set; }

    public IReadOnlyList<StormResult>? Storms { get; set; }

    public LoginResult? Login { get; set; }

    public ProfileResult? Profile { get; set; }

    public string FileName => $"{StartedAt:yyyy-MM-ddTHH-mm-ssZ}{(Settings.Quick ? "-quick" : string.Empty)}{(HasMeasurements ? string.Empty : "-profile")}.md";

    /// <summary>Whether a phase measured against the targets ran; a profile alone does not replace the summary in docs/benchmarks.md.</summary>
    public bool HasMeasurements => Overhead is not null || OneCpu is not null || PostgresScale is not null || Scale is not null || Storms is not null || Login is not null;

    public string Full()
    {
        var md = new StringBuilder();
        md.AppendLine($"# Portcullis benchmark, {StartedAt:yyyy-MM-dd HH:mm:ss} UTC{(Settings.Quick ? " (QUICK MODE)" : string.Empty)}").AppendLine();
        Warning(md);
        Machine_(md);
        Summary(md);
        Notes(md);
        Details(md);
        ProfileDetails(md);
        return md.ToString();
    }

    /// <summary>The part kept in docs/benchmarks.md.</summary>
    public string Short(string resultsFile)
    {
        var md = new StringBuilder();
        md.AppendLine($"Run of {StartedAt:yyyy-MM-dd HH:mm} UTC{(Settings.Quick ? " in **quick mode**" : string.Empty)}; full report: [{resultsFile}](../{resultsFile}).").AppendLine();
        Warning(md);
        md.AppendLine($"Machine: {Machine.Cpu}, {Machine.LogicalCores} logical cores, {Machine.Memory}, {Machine.OperatingSystem}; load average {LoadAtStart} at start, {LoadAtEnd} at end.").AppendLine();
        Summary(md);
        return md.ToString();
    }

    private void Warning(StringBuilder md)
    {
        if (Settings.Quick)
        {
            md.AppendLine("> **Quick mode: not representative.** Short runs for developing the harness, typically on a busy shared machine; "
                + "use these numbers only to see that every phase works. Run `bench/run.sh` without `BENCH_QUICK` on a quiet machine for figures.").AppendLine();
        }
    }

    private void Machine_(StringBuilder md)
    {
        md.AppendLine("## Machine and parameters").AppendLine();
        md.AppendLine("| | |").AppendLine("| --- | --- |");
        md.AppendLine($"| CPU | {Machine.Cpu} |");
        md.AppendLine($"| logical cores | {Machine.LogicalCores} |");
        md.AppendLine($"| memory | {Machine.Memory} |");
        md.AppendLine($"| OS | {Machine.OperatingSystem} |");
        md.AppendLine($"| .NET | {Machine.DotnetRuntime} (SDK {Machine.DotnetSdk}) |");
        md.AppendLine($"| Node.js (test provider) | {Machine.Node} |");
        md.AppendLine($"| wrk | {Machine.Wrk} |");
        md.AppendLine($"| load average (1/5/15 min) | {LoadAtStart} at start, {LoadAtEnd} at end |");
        md.AppendLine($"| wrk, loaded | `{string.Join(' ', Load.Wrk.WrkArguments(Settings.Connections, Settings.Threads, Settings.DurationSeconds))}` |");
        md.AppendLine($"| wrk, light load | `{string.Join(' ', Load.Wrk.WrkArguments(1, 1, Settings.DurationSeconds))}` |");
        md.AppendLine($"| warm-up before measuring a freshly started server | {Settings.WarmupSeconds} s of loaded wrk ({Settings.OneCpuWarmupSeconds} s when confined to one CPU), not recorded |");
        md.AppendLine($"| rounds (interleaved direct, bare YARP, Portcullis{(Settings.Tokenless ? ", Portcullis Token none" : string.Empty)}{(Settings.SessionCache is { } cache ? $", Portcullis with Session:CacheDuration {cache:c}" : string.Empty)}{(Settings.SplitKey ? ", Portcullis split-key" : string.Empty)}{(Settings.Stateless ? ", Portcullis stateless" : string.Empty)}) | {Settings.Rounds} |");
        md.AppendLine($"| refresh storm | {Settings.StormRequests} concurrent requests, {Settings.StormRounds} storm(s) per configuration, access token lifetime {Settings.StormTokenTtlSeconds} s, `Refresh:Skew` {BenchSettings.StormRefreshSkewSeconds} s (a refreshed token stays fresh {Settings.StormTokenTtlSeconds - BenchSettings.StormRefreshSkewSeconds} s) |");
        md.AppendLine($"| session scale | {Settings.Sessions:N0} filler sessions (SQLite), {Settings.PostgresSessions:N0} (PostgreSQL) |");
        md.AppendLine($"| login throughput | {Settings.LoginConcurrency} concurrent login loops for {Settings.LoginDurationSeconds} s |");
        md.AppendLine("| everything on one machine | wrk, the servers and the provider share the same cores |");
        md.AppendLine();
    }

    private void Summary(StringBuilder md)
    {
        if (Overhead is { } overhead)
        {
            OverheadTables(md, overhead, "### Proxy overhead (medians over the rounds)", string.Empty);
        }

        if (OneCpu is { } oneCpu)
        {
            OverheadTables(md, oneCpu, $"### One CPU each: bare YARP and Portcullis confined to CPU {CpuPlacement.OneCpu.Proxies}, wrk and the upstream to CPU {CpuPlacement.OneCpu.Load} (medians over the rounds)", ", each limited to one CPU");
        }

        if (Storms is { } storms)
        {
            md.AppendLine("### Refresh storm").AppendLine();
            md.AppendLine("| configuration | storm | concurrent requests | refresh token requests at the provider (target 1) | failed requests (target 0) | answers | storm took |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: | --- | ---: |");
            foreach (var s in storms)
            {
                md.AppendLine($"| {s.Configuration} | {s.Round} | {s.Requests} | {s.RefreshRequests} ({s.SuccessfulRefreshes} successful) | {s.Failed} | {s.Statuses} | {s.ElapsedMs:F0} ms{(s.OutlastedFreshToken ? " (longer than a refreshed token stays fresh: a second refresh would have been due)" : string.Empty)} |");
            }

            md.AppendLine();
        }

        if (Scale is { } scale)
        {
            ScaleTable(md, scale, "### Session scale (authenticated small-JSON request; two fresh gateway processes side by side, interleaved rounds, medians)", "store on disk");
        }

        if (PostgresScale is { } postgresScale)
        {
            ScaleTable(md, postgresScale, "### Session scale on PostgreSQL (the same; the test server, fsync off)", "`sessions` table with indexes");
            var (one, many) = (postgresScale[0], postgresScale[^1]);
            md.AppendLine("| target (issue 18) | measured | per round: median (lowest–highest) | met |").AppendLine("| --- | ---: | ---: | --- |");
            ScaleTargetRow(md, $"p99 with {many.Sessions:N0} sessions within {PostgresScaleP99TargetMs} ms of one session, loaded", one.LoadedRounds, many.LoadedRounds);
            ScaleTargetRow(md, "the same at one connection", one.LightRounds, many.LightRounds);
            md.AppendLine();
        }

        if (Login is { } login)
        {
            md.AppendLine("### Login throughput (real logins through the local oidc-provider)").AppendLine();
            md.AppendLine("| concurrent loops | seconds | completed logins | failed | logins/s | gateway peak memory |").AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
            md.AppendLine($"| {login.Concurrency} | {login.Seconds:F1} | {login.Completed} | {login.Failed} | {login.LoginsPerSecond:F1} | {Mib(login.GatewayPeakBytes)} |");
            if (login.FirstError is { } error)
            {
                md.AppendLine().AppendLine($"First failure: `{error.ReplaceLineEndings(" ")}`");
            }

            md.AppendLine();
            md.AppendLine($"The per-address login limit (`RateLimit:LoginPerMinute`, default 60) is raised to {LoginThroughputPhase.RateLimitPerMinute:N0} for this phase: every loop comes from 127.0.0.1, and the limit would otherwise be what is measured.");
            md.AppendLine();
        }
    }

    /// <summary>
    /// What each server spent per request: its process's CPU time over a run divided by the requests it served (all
    /// threads, the collector's included), median over the rounds. On two cores shared with wrk and the upstream this
    /// moves far less from round to round than requests/s, so it is where a change to the hot path shows first.
    /// </summary>
    private static void CpuPerRequestTable(StringBuilder md, OverheadResult overhead)
    {
        if (overhead.Series.Count == 0 || overhead.Series.Any(s => s.Targets.Any(t => double.IsNaN(s.MedianCpu(t)))))
        {
            return;
        }

        var targets = overhead.Series[0].Targets;
        md.AppendLine("Server CPU time per request (µs; the process answering the target, all threads, median over the rounds); the last column is Portcullis's over bare YARP's.").AppendLine();
        md.AppendLine($"| load | payload | {string.Join(" | ", targets)} | Portcullis / bare YARP |");
        md.AppendLine($"| --- | --- | {string.Join(" | ", targets.Select(_ => "---:"))} | ---: |");
        foreach (var s in overhead.Series)
        {
            md.AppendLine($"| {s.Load} | {s.Payload} | {string.Join(" | ", targets.Select(t => s.MedianCpu(t).ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))} | "
                + $"{s.MedianCpu(PortcullisTarget) / s.MedianCpu(YarpTarget):F2}× |");
        }

        md.AppendLine();
    }

    private static void ScaleTable(StringBuilder md, IReadOnlyList<ScaleResult> scale, string heading, string sizeColumn)
    {
        md.AppendLine(heading).AppendLine();
        md.AppendLine($"| sessions in the store | loaded req/s | loaded p50 / p99 (ms) | one connection p50 / p99 (ms) | errors | gateway peak memory | {sizeColumn} |");
        md.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var s in scale)
        {
            md.AppendLine($"| {s.Sessions:N0} | {s.Loaded.RequestsPerSecond:F0} | {s.Loaded.P50Ms:F3} / {s.Loaded.P99Ms:F3} | {s.Light.P50Ms:F3} / {s.Light.P99Ms:F3} | "
                + $"{s.Loaded.Errors + s.Light.Errors} | {Mib(s.GatewayPeakBytes)} | {Mib(s.StoreBytes)} |");
        }

        md.AppendLine();
    }

    /// <summary>
    /// The verdict is the difference of the medians (as for the proxy targets); beside it each round's own difference,
    /// the two gateways having been measured back to back in that round.
    /// </summary>
    private static void ScaleTargetRow(StringBuilder md, string target, IReadOnlyList<WrkResult> one, IReadOnlyList<WrkResult> many)
    {
        var added = Statistics.Median(many.Select(r => r.P99Ms)) - Statistics.Median(one.Select(r => r.P99Ms));
        var perRound = one.Zip(many, (o, m) => m.P99Ms - o.P99Ms).ToArray();
        md.AppendLine($"| {target} | {added:F3} ms | {Statistics.Median(perRound):F3} ms ({perRound.Min():F3} – {perRound.Max():F3}) | {YesNo(added <= PostgresScaleP99TargetMs)} |");
    }

    private void OverheadTables(StringBuilder md, OverheadResult overhead, string heading, string targetQualifier)
    {
        md.AppendLine(heading).AppendLine();
        md.AppendLine("| load | payload | direct req/s | bare YARP req/s | Portcullis req/s | Portcullis / YARP | Portcullis / direct | p50 direct / YARP / Portcullis (ms) | p99 direct / YARP / Portcullis (ms) | errors |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var s in overhead.Series)
        {
            md.AppendLine($"| {s.Load} | {s.Payload} | {s.MedianRps(DirectTarget):F0} | {s.MedianRps(YarpTarget):F0} | {s.MedianRps(PortcullisTarget):F0} | "
                + $"{s.MedianRps(PortcullisTarget) / s.MedianRps(YarpTarget):F2} | {s.MedianRps(PortcullisTarget) / s.MedianRps(DirectTarget):F2} | "
                + $"{s.MedianP50(DirectTarget):F3} / {s.MedianP50(YarpTarget):F3} / {s.MedianP50(PortcullisTarget):F3} | "
                + $"{s.MedianP99(DirectTarget):F3} / {s.MedianP99(YarpTarget):F3} / {s.MedianP99(PortcullisTarget):F3} | "
                + $"{s.Targets.Sum(s.Errors)} |");
        }

        md.AppendLine();
        md.AppendLine("| target (DESIGN.md §7) | payload | measured | per round: median (lowest–highest) | met |").AppendLine("| --- | --- | ---: | ---: | --- |");
        foreach (var s in overhead.Series)
        {
            if (s.Load == "loaded")
            {
                var ratio = s.MedianRps(PortcullisTarget) / s.MedianRps(YarpTarget);
                var rounds = s.RoundRatios(PortcullisTarget, YarpTarget);
                md.AppendLine($"| Portcullis ≥ {ThroughputTarget}× bare-YARP req/s under load{targetQualifier} | {s.Payload} | {ratio:F2}× | "
                    + $"{Statistics.Median(rounds):F2}× ({rounds.Min():F2}–{rounds.Max():F2}) | {YesNo(ratio >= ThroughputTarget)} |");
            }
            else
            {
                var added = s.MedianP99(PortcullisTarget) - s.MedianP99(YarpTarget);
                md.AppendLine($"| added p99 over bare YARP ≤ {AddedP99TargetMs} ms at one connection{targetQualifier} | {s.Payload} | {added:F3} ms | – | {YesNo(added <= AddedP99TargetMs)} |");
            }
        }

        if (overhead.Memory.FirstOrDefault(m => m.Server == YarpTarget) is { PeakBytes: > 0 } yarpMemory
            && overhead.Memory.FirstOrDefault(m => m.Server == PortcullisTarget) is { } gatewayMemory)
        {
            var ratio = gatewayMemory.PeakBytes / (double)yarpMemory.PeakBytes;
            md.AppendLine($"| peak memory ≤ {MemoryTarget}× bare YARP's over the phase{targetQualifier} | all | {ratio:F2}× | – | {YesNo(ratio <= MemoryTarget)} |");
        }

        md.AppendLine();
        CpuPerRequestTable(md, overhead);
        if (overhead.Series.Any(s => s.Targets.Contains(TokenlessTarget)))
        {
            md.AppendLine("Diagnostic (not a target): the same gateway on a route with `Token: none` — anti-forgery check, header rewrite and forwarding, but no session and no token lookup.").AppendLine();
            md.AppendLine("| load | payload | Portcullis, Token none req/s | … / bare YARP | Portcullis with session / Token none | p50 / p99 (ms) |");
            md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: |");
            foreach (var s in overhead.Series)
            {
                md.AppendLine($"| {s.Load} | {s.Payload} | {s.MedianRps(TokenlessTarget):F0} | {s.MedianRps(TokenlessTarget) / s.MedianRps(YarpTarget):F2} | "
                    + $"{s.MedianRps(PortcullisTarget) / s.MedianRps(TokenlessTarget):F2} | {s.MedianP50(TokenlessTarget):F3} / {s.MedianP99(TokenlessTarget):F3} |");
            }

            md.AppendLine();
        }

        if (overhead.Series.Any(s => s.Targets.Contains(BaselineTarget)))
        {
            md.AppendLine($"Before and after, same rounds: this build against the baseline build `{Settings.Baseline}` (both default configuration).").AppendLine();
            md.AppendLine("| load | payload | baseline req/s | this build req/s | this build / baseline | baseline / bare YARP | this build / bare YARP | p50 baseline / this (ms) | p99 baseline / this (ms) |");
            md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var s in overhead.Series)
            {
                md.AppendLine($"| {s.Load} | {s.Payload} | {s.MedianRps(BaselineTarget):F0} | {s.MedianRps(PortcullisTarget):F0} | {s.MedianRps(PortcullisTarget) / s.MedianRps(BaselineTarget):F2} | "
                    + $"{s.MedianRps(BaselineTarget) / s.MedianRps(YarpTarget):F2} | {s.MedianRps(PortcullisTarget) / s.MedianRps(YarpTarget):F2} | "
                    + $"{s.MedianP50(BaselineTarget):F3} / {s.MedianP50(PortcullisTarget):F3} | {s.MedianP99(BaselineTarget):F3} / {s.MedianP99(PortcullisTarget):F3} |");
            }

            md.AppendLine();
        }

        if (overhead.Series.Any(s => s.Targets.Contains(CachedTarget)))
        {
            md.AppendLine($"Comparison, not what the targets are judged on: a second gateway with `Session:CacheDuration` {Settings.SessionCache:c} "
                + "(00:00:00: the session cache of ADR 0040, on by default, turned off, so every request reads the store).").AppendLine();
            md.AppendLine("| load | payload | other cache setting req/s | … / bare YARP | … / Portcullis default | p50 / p99 (ms) | added p99 over bare YARP (ms) |");
            md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
            foreach (var s in overhead.Series)
            {
                md.AppendLine($"| {s.Load} | {s.Payload} | {s.MedianRps(CachedTarget):F0} | {s.MedianRps(CachedTarget) / s.MedianRps(YarpTarget):F2} | "
                    + $"{s.MedianRps(CachedTarget) / s.MedianRps(PortcullisTarget):F2} | {s.MedianP50(CachedTarget):F3} / {s.MedianP99(CachedTarget):F3} | "
                    + $"{s.MedianP99(CachedTarget) - s.MedianP99(YarpTarget):F3} |");
            }

            md.AppendLine();
        }

        if (overhead.Series.Any(s => s.Targets.Contains(SplitKeyTarget)))
        {
            md.AppendLine("Session modes side by side (issue 15): `server` is the default gateway above; `split-key` (ADR 0032) is a gateway whose "
                + "cookie carries each session's key, so every request opens the session's data and grant with AES-256-GCM under it, "
                + "without the key ring's memo; `stateless` is in the table below.").AppendLine();
            md.AppendLine("| load | payload | server req/s | split-key req/s | split-key / server | split-key / bare YARP | p50 server / split-key (ms) | p99 server / split-key (ms) |");
            md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var s in overhead.Series)
            {
                md.AppendLine($"| {s.Load} | {s.Payload} | {s.MedianRps(PortcullisTarget):F0} | {s.MedianRps(SplitKeyTarget):F0} | "
                    + $"{s.MedianRps(SplitKeyTarget) / s.MedianRps(PortcullisTarget):F2} | {s.MedianRps(SplitKeyTarget) / s.MedianRps(YarpTarget):F2} | "
                    + $"{s.MedianP50(PortcullisTarget):F3} / {s.MedianP50(SplitKeyTarget):F3} | {s.MedianP99(PortcullisTarget):F3} / {s.MedianP99(SplitKeyTarget):F3} |");
            }

            md.AppendLine();
        }

        if (overhead.Series.Any(s => s.Targets.Contains(StatelessTarget)))
        {
            md.AppendLine("`stateless` (ADR 0033) is a gateway without a store: every request carries the session sealed in ~2.5 KB of cookies "
                + "(and the sealed refresh token on the API route), and the gateway opens the session cookie with the key ring each time.").AppendLine();
            md.AppendLine("| load | payload | server req/s | stateless req/s | stateless / server | stateless / bare YARP | p50 server / stateless (ms) | p99 server / stateless (ms) |");
            md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var s in overhead.Series)
            {
                md.AppendLine($"| {s.Load} | {s.Payload} | {s.MedianRps(PortcullisTarget):F0} | {s.MedianRps(StatelessTarget):F0} | "
                    + $"{s.MedianRps(StatelessTarget) / s.MedianRps(PortcullisTarget):F2} | {s.MedianRps(StatelessTarget) / s.MedianRps(YarpTarget):F2} | "
                    + $"{s.MedianP50(PortcullisTarget):F3} / {s.MedianP50(StatelessTarget):F3} | {s.MedianP99(PortcullisTarget):F3} / {s.MedianP99(StatelessTarget):F3} |");
            }

            md.AppendLine();
        }

        md.AppendLine("| server | peak memory (VmHWM) over the phase | log lines written per proxied request |").AppendLine("| --- | ---: | ---: |");
        foreach (var m in overhead.Memory)
        {
            md.AppendLine($"| {m.Server} | {Mib(m.PeakBytes)} | {(m.LogLinesPerRequest is { } lines ? $"{lines:F2}" : "–")} |");
        }

        md.AppendLine();
    }

    private static void Notes(StringBuilder md)
    {
        md.AppendLine("## How it was measured").AppendLine();
        md.AppendLine("- Every server is its own process on loopback: the upstream (minimal Kestrel), bare YARP (`MapForwarder`, YARP 2.3.0, the forwarding-client settings of Portcullis's ApiProxy, the gateway's shipped `appsettings.json` for log levels), the gateway (`dotnet Portcullis.Gateway.dll --urls …` from its build folder, Release, settings as `Portcullis__…` environment variables, SQLite store in a temporary directory) and the test provider (`node tests/idp/server.mjs`).");
        md.AppendLine("- Portcullis requests carry a real session cookie (obtained by logging in through the provider's pages) and `X-CSRF: 1`. Before measuring, each target is checked to answer 200 with the right body, and the upstream to receive a Bearer token only through Portcullis.");
        md.AppendLine("- Overhead rounds are interleaved (direct, bare YARP, Portcullis, direct, …); the tables give medians over the rounds. wrk's p50/p99 are its own latency percentiles (`--latency`). Errors are non-2xx answers plus socket errors, counted in every run.");
        md.AppendLine($"- Access tokens live {BenchSettings.LongTokenTtlSeconds / 3600} hours except in the storm phase, so no refresh happens elsewhere. Storm requests wait at a gate on already-open connections and are released together one second after the access token expired; the refresh count is the provider's own record of `refresh_token` grant requests.");
        md.AppendLine("- Peak memory is VmHWM from `/proc/PID/status` (the process's peak resident set since it started). Store size is the SQLite database file plus its WAL and shared-memory files.");
        md.AppendLine();
    }

    private void Details(StringBuilder md)
    {
        if (Overhead is { } overhead)
        {
            Rounds(md, overhead, "## Every proxy-overhead round");
        }

        if (OneCpu is { } oneCpu)
        {
            Rounds(md, oneCpu, "## Every one-CPU round");
        }
    }

    private void Rounds(StringBuilder md, OverheadResult overhead, string heading)
    {
        md.AppendLine(heading).AppendLine();
        md.AppendLine("| load | payload | round | target | req/s | p50 (ms) | p99 (ms) | requests | non-2xx | socket errors |");
        md.AppendLine("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var s in overhead.Series)
        {
            for (var round = 0; round < Settings.Rounds; round++)
            {
                foreach (var target in s.Targets)
                {
                    var r = s.Runs[target][round];
                    md.AppendLine($"| {s.Load} | {s.Payload} | {round + 1} | {target} | {r.RequestsPerSecond:F0} | {r.P50Ms:F3} | {r.P99Ms:F3} | {r.Requests} | {r.Non2xx} | {r.SocketErrors} |");
                }
            }
        }

        md.AppendLine();
    }

    private void ProfileDetails(StringBuilder md)
    {
        if (Profile is not { } profile)
        {
            return;
        }

        md.AppendLine("## Profile of the authenticated path").AppendLine();
        md.AppendLine($"`dotnet-trace collect --profile dotnet-sampled-thread-time` on the gateway for {profile.Seconds} s while wrk loaded the authenticated small-JSON route "
            + $"(`{string.Join(' ', Load.Wrk.WrkArguments(Settings.Connections, Settings.Threads, profile.Seconds + 4))}`: {profile.Load.RequestsPerSecond:F0} req/s, p99 {profile.Load.P99Ms:F3} ms, {profile.Load.Errors} errors). "
            + "Samples are of thread stacks, idle and waiting threads included; read the shares of the gateway's own methods against each other.").AppendLine();
        md.AppendLine("### Top methods, inclusive").AppendLine().AppendLine("```").AppendLine(profile.TopInclusive).AppendLine("```").AppendLine();
        md.AppendLine("### Top methods, exclusive").AppendLine().AppendLine("```").AppendLine(profile.TopExclusive).AppendLine("```").AppendLine();
    }

    private static string YesNo(bool met) => met ? "yes" : "**no**";

    private static string Mib(long bytes) => $"{bytes / 1024.0 / 1024.0:F1} MiB";
}
