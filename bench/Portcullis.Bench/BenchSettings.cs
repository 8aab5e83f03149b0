using System.Globalization;

namespace Portcullis.Bench;

/// <summary>
/// What a run measures and for how long, from environment variables (bench/run.sh documents them). <c>BENCH_QUICK=1</c>
/// changes only the defaults, for developing the harness: its numbers are labelled as not representative.
/// </summary>
internal sealed record BenchSettings
{
    public required bool Quick { get; init; }

    /// <summary>Seconds of one wrk run (BENCH_DURATION).</summary>
    public required int DurationSeconds { get; init; }

    /// <summary>
    /// Seconds of an unrecorded wrk run against each freshly started target before measuring it (BENCH_WARMUP), so the
    /// JIT's tiering and the pools have settled. Measured on this machine under loaded wrk (DOTNET_PerfMapEnabled, the
    /// perf map's tiers every 2 s): the gateway's hot code is instrumented from about 4 s and all at tier 1 by about 12 s
    /// on two cores; on one CPU the tiering thread competes with the load, and tier 1 arrives at 20–38 s
    /// (<see cref="OneCpuWarmupSeconds"/>). Measuring earlier compares partly unoptimised code with a smaller, already
    /// tiered bare YARP: the 2026-12-07 one-CPU run's first gateway round served half its later rounds.
    /// </summary>
    public required int WarmupSeconds { get; init; }

    /// <summary>The warm-up of a target confined to one CPU (BENCH_ONE_CPU_WARMUP); see <see cref="WarmupSeconds"/>.</summary>
    public required int OneCpuWarmupSeconds { get; init; }

    /// <summary>wrk connections of the loaded runs (BENCH_CONNECTIONS).</summary>
    public required int Connections { get; init; }

    /// <summary>wrk threads of the loaded runs (BENCH_THREADS); light-load runs use one thread and one connection.</summary>
    public required int Threads { get; init; }

    /// <summary>Interleaved rounds a b c (BENCH_ROUNDS, at least 3).</summary>
    public required int Rounds { get; init; }

    /// <summary>Concurrent requests of one refresh storm (BENCH_STORM_REQUESTS).</summary>
    public required int StormRequests { get; init; }

    /// <summary>Storms per configuration (BENCH_STORM_ROUNDS).</summary>
    public required int StormRounds { get; init; }

    /// <summary>Access-token lifetime at the provider during the storm phase, seconds (BENCH_STORM_TOKEN_TTL).</summary>
    public required int StormTokenTtlSeconds { get; init; }

    /// <summary>
    /// <c>Refresh:Skew</c> of the storm phase's gateways. A refreshed token stays fresh for its lifetime minus this, which
    /// must outlast a storm: a request arriving after that would rightly refresh again, and the count would no longer
    /// tell a double refresh from a due one.
    /// </summary>
    public const int StormRefreshSkewSeconds = 1;

    /// <summary>Filler sessions in the store for the scale phase (BENCH_SESSIONS).</summary>
    public required int Sessions { get; init; }

    /// <summary>Filler sessions for the PostgreSQL scale phase (BENCH_PG_SESSIONS).</summary>
    public required int PostgresSessions { get; init; }

    /// <summary>Concurrent login loops (BENCH_LOGIN_CONCURRENCY).</summary>
    public required int LoginConcurrency { get; init; }

    /// <summary>Seconds the login loops run (BENCH_LOGIN_DURATION).</summary>
    public required int LoginDurationSeconds { get; init; }

    /// <summary>Whether the overhead phase also measures the gateway on a route without session or token, as a diagnostic (BENCH_TOKENLESS, default 1).</summary>
    public required bool Tokenless { get; init; }

    /// <summary>
    /// <c>Session:CacheDuration</c> of a second gateway measured alongside the default one (BENCH_SESSION_CACHE, default
    /// 00:00:00: the session cache off, so the report shows what the default cache of ADR 0040 buys; <c>skip</c> leaves
    /// it out), reported separately from the targets.
    /// </summary>
    public required TimeSpan? SessionCache { get; init; }

    /// <summary>
    /// Another build's <c>Portcullis.Gateway.dll</c> (BENCH_BASELINE; a full path), measured in the same interleaved rounds
    /// as this build in its default configuration, so a change's before and after come from one run on one machine state.
    /// Takes the session-cache gateway's place: with a baseline the opt-in cache is not measured.
    /// </summary>
    public string? Baseline { get; init; }

    /// <summary>
    /// Whether the overhead phase also measures a gateway in <c>Session:Mode split-key</c> (BENCH_SPLIT_KEY, default 1;
    /// 0 skips it), so the report shows the session modes side by side (issue 15 item 5).
    /// </summary>
    public required bool SplitKey { get; init; }

    /// <summary>
    /// Whether the overhead phase also measures a gateway in <c>Session:Mode stateless</c> (BENCH_STATELESS, default 1;
    /// 0 skips it): the tokens sealed in ~2.5 KB of cookies opened on every request, no store (ADR 0033).
    /// </summary>
    public required bool Stateless { get; init; }

    /// <summary>Which phases run (BENCH_PHASES, comma-separated: overhead, onecpu, scale, pgscale, storm, login, profile).</summary>
    public required IReadOnlySet<string> Phases { get; init; }

    public static readonly string[] AllPhases = ["overhead", "onecpu", "scale", "pgscale", "storm", "login", "profile"];

    /// <summary>What runs when BENCH_PHASES is not set: everything but the profile, which is a tool for finding costs, not a measurement.</summary>
    public static readonly string[] DefaultPhases = ["overhead", "onecpu", "scale", "pgscale", "storm", "login"];

    /// <summary>Access-token lifetime outside the storm phase: long enough that no refresh happens during a run.</summary>
    public const int LongTokenTtlSeconds = 3 * 3600;

    public static BenchSettings FromEnvironment()
    {
        var quick = Environment.GetEnvironmentVariable("BENCH_QUICK") is "1" or "true";
        var duration = Int("BENCH_DURATION", quick ? 3 : 15, 1);
        var phases = (Environment.GetEnvironmentVariable("BENCH_PHASES") ?? string.Join(',', DefaultPhases))
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (phases.Except(AllPhases, StringComparer.OrdinalIgnoreCase).FirstOrDefault() is { } unknown)
        {
            throw new ArgumentException($"BENCH_PHASES: unknown phase '{unknown}'; known: {string.Join(", ", AllPhases)}.");
        }

        return new BenchSettings
        {
            Quick = quick,
            DurationSeconds = duration,
            WarmupSeconds = Int("BENCH_WARMUP", quick ? 1 : 20, 0),
            OneCpuWarmupSeconds = Int("BENCH_ONE_CPU_WARMUP", quick ? 1 : 45, 0),
            Connections = Int("BENCH_CONNECTIONS", quick ? 16 : 64, 1),
            Threads = Int("BENCH_THREADS", 2, 1),
            Rounds = Int("BENCH_ROUNDS", quick ? 3 : 5, 3),
            StormRequests = Int("BENCH_STORM_REQUESTS", 500, 2),
            StormRounds = Int("BENCH_STORM_ROUNDS", quick ? 1 : 3, 1),
            StormTokenTtlSeconds = Int("BENCH_STORM_TOKEN_TTL", 10, 3),
            Sessions = Int("BENCH_SESSIONS", 100_000, 0),
            PostgresSessions = Int("BENCH_PG_SESSIONS", quick ? 10_000 : 1_000_000, 0),
            LoginConcurrency = Int("BENCH_LOGIN_CONCURRENCY", 4, 1),
            LoginDurationSeconds = Int("BENCH_LOGIN_DURATION", quick ? 5 : 30, 1),
            Tokenless = Environment.GetEnvironmentVariable("BENCH_TOKENLESS") is not ("0" or "false"),
            SplitKey = Environment.GetEnvironmentVariable("BENCH_SPLIT_KEY") is not ("0" or "false"),
            Stateless = Environment.GetEnvironmentVariable("BENCH_STATELESS") is not ("0" or "false"),
            Baseline = Environment.GetEnvironmentVariable("BENCH_BASELINE") is { Length: > 0 } baseline
                ? File.Exists(baseline) ? Path.GetFullPath(baseline) : throw new ArgumentException($"BENCH_BASELINE: no gateway at {baseline}.")
                : null,
            SessionCache = Environment.GetEnvironmentVariable("BENCH_SESSION_CACHE") switch
            {
                null or "" or "0" => TimeSpan.Zero,
                "skip" => null,
                var value => TimeSpan.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var cacheDuration) && cacheDuration >= TimeSpan.Zero
                    ? cacheDuration
                    : throw new ArgumentException($"BENCH_SESSION_CACHE: '{value}' is not a duration such as 00:00:05 (00:00:00: the cache off; skip: no second gateway)."),
            },
            Phases = phases,
        };
    }

    public bool Runs(string phase) => Phases.Contains(phase);

    private static int Int(string name, int fallback, int minimum)
    {
        var raw = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(raw))
        {
            return fallback;
        }

        if (!int.TryParse(raw.TrimEnd('s'), NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < minimum)
        {
            throw new ArgumentException($"{name}: '{raw}' is not a whole number of at least {minimum}.");
        }

        return value;
    }
}
