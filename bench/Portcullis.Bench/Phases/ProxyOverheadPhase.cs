using System.Text.Json;
using Portcullis.Bench.Load;
using Portcullis.Bench.Processes;
using Portcullis.Bench.Servers;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Bench.Phases;

/// <summary>
/// The same upstream three ways — directly, through bare YARP, through Portcullis with a real session — under load and
/// at light load (one connection). Rounds are interleaved a b c a b c … so drift of a shared machine hits all alike.
/// </summary>
internal static class ProxyOverheadPhase
{
    public const string DirectTarget = "direct";
    public const string YarpTarget = "bare YARP";
    public const string PortcullisTarget = "Portcullis";

    /// <summary>
    /// Diagnostic, not a target of DESIGN.md §7: the same gateway on a route with <c>Token: none</c> — anti-forgery check,
    /// path check, header rewrite and forwarding, but no session and no token — so the report shows how much of the
    /// overhead is the session and token lookup.
    /// </summary>
    public const string TokenlessTarget = "Portcullis, Token none";

    /// <summary>Not a target of DESIGN.md §7 either: a second gateway with the opt-in per-node session cache (ADR 0017).</summary>
    public const string CachedTarget = "Portcullis, other cache setting";

    /// <summary>Another build of the gateway (BENCH_BASELINE), default configuration: the "before" of a change.</summary>
    public const string BaselineTarget = "Portcullis baseline";

    /// <summary>A gateway in <c>Session:Mode split-key</c> (ADR 0032), for the modes side by side (issue 15 item 5).</summary>
    public const string SplitKeyTarget = "Portcullis, split-key";

    /// <summary>A gateway in <c>Session:Mode stateless</c> (ADR 0033): no store, the tokens sealed in the cookies.</summary>
    public const string StatelessTarget = "Portcullis, stateless";

    private const string OpenRoute = "/api/open";

    public static async Task<OverheadResult> RunAsync(BenchContext context, TestIdp idp, int gatewayPort, int cachedGatewayPort, int splitKeyGatewayPort, int statelessGatewayPort, CpuPlacement? placement = null)
    {
        var settings = context.Settings;
        var load = placement?.Load;
        // Pinned, the phase gets its own upstream (beside wrk) and bare YARP (on the proxies' CPU); the shared ones float.
        await using var pinnedUpstream = placement is null ? null : await StartPinnedAsync(placement.Load, "upstream", "upstream");
        var upstreamUrl = pinnedUpstream?.Url ?? context.UpstreamUrl;
        await using var pinnedYarp = placement is null ? null : await StartPinnedAsync(placement.Proxies, "bare YARP", "yarp", upstreamUrl);
        var (upstream, yarp, yarpUrl) = placement is null
            ? (context.Upstream, context.Yarp, context.YarpUrl)
            : (pinnedUpstream!.Process, pinnedYarp!.Process, pinnedYarp.Url);

        var dataDirectory = BenchContext.NewDataDirectory("overhead");
        var origin = $"http://localhost:{gatewayPort}";
        var gatewaySettings = Gateway.Settings(origin, idp, dataDirectory, upstreamUrl);
        if (settings.Tokenless)
        {
            gatewaySettings["Portcullis:Apis:open:Path"] = OpenRoute;
            gatewaySettings["Portcullis:Apis:open:Upstream"] = upstreamUrl;
            gatewaySettings["Portcullis:Apis:open:Token"] = "none";
        }

        await using var gateway = await Gateway.StartAsync("gateway", gatewayPort, gatewaySettings, placement?.Proxies);
        var cookie = await Gateway.LoginAsync(origin);
        // The second gateway slot: a baseline build when one is given; else the opt-in cache, a comparison for the
        // default configuration only (the one-CPU rounds are about the default).
        await using var baselineGateway = settings.Baseline is { } baseline
            ? await Gateway.StartAsync("baseline gateway", cachedGatewayPort, Gateway.Settings($"http://localhost:{cachedGatewayPort}", idp, BenchContext.NewDataDirectory("overhead-baseline"), upstreamUrl), placement?.Proxies, baseline)
            : null;
        await using var cachedGateway = settings.SessionCache is { } comparedCache && placement is null && baselineGateway is null
            ? await StartCachedGatewayAsync(context, idp, cachedGatewayPort, comparedCache)
            : null;
        await using var splitKeyGateway = settings.SplitKey && placement is null
            ? await StartSplitKeyGatewayAsync(idp, splitKeyGatewayPort, upstreamUrl)
            : null;
        await using var statelessGateway = settings.Stateless && placement is null
            ? await StartStatelessGatewayAsync(idp, statelessGatewayPort, upstreamUrl)
            : null;
        var gatewayUrl = $"http://127.0.0.1:{gatewayPort}";
        var targets = new List<Target>
        {
            new(DirectTarget, upstreamUrl + UpstreamServer.OrdersRoute, null, ExpectsBearer: false, upstream),
            new(YarpTarget, yarpUrl + UpstreamServer.OrdersRoute, null, ExpectsBearer: false, yarp),
            new(PortcullisTarget, gatewayUrl + UpstreamServer.OrdersRoute, Gateway.AuthenticatedHeaders(cookie), ExpectsBearer: true, gateway),
        };
        if (settings.Tokenless)
        {
            targets.Add(new(TokenlessTarget, gatewayUrl + OpenRoute, new() { ["X-CSRF"] = "1" }, ExpectsBearer: false, gateway));
        }

        if (baselineGateway is not null)
        {
            var baselineCookie = await Gateway.LoginAsync($"http://localhost:{cachedGatewayPort}");
            targets.Add(new(BaselineTarget, $"http://127.0.0.1:{cachedGatewayPort}{UpstreamServer.OrdersRoute}", Gateway.AuthenticatedHeaders(baselineCookie), ExpectsBearer: true, baselineGateway));
        }

        if (cachedGateway is not null)
        {
            var cachedCookie = await Gateway.LoginAsync($"http://localhost:{cachedGatewayPort}");
            targets.Add(new(CachedTarget, $"http://127.0.0.1:{cachedGatewayPort}{UpstreamServer.OrdersRoute}", Gateway.AuthenticatedHeaders(cachedCookie), ExpectsBearer: true, cachedGateway));
        }

        if (splitKeyGateway is not null)
        {
            // The cookie carries the session's key: every request wrk sends proves it again (no memo, ADR 0032).
            var splitKeyCookie = await Gateway.LoginAsync($"http://localhost:{splitKeyGatewayPort}");
            targets.Add(new(SplitKeyTarget, $"http://127.0.0.1:{splitKeyGatewayPort}{UpstreamServer.OrdersRoute}", Gateway.AuthenticatedHeaders(splitKeyCookie), ExpectsBearer: true, splitKeyGateway));
        }

        if (statelessGateway is not null)
        {
            // Every cookie a browser sends to the API route: the sealed session (opened on every request) and the
            // sealed refresh token (carried, opened only when a refresh is due; never within this phase).
            var statelessCookies = await Gateway.LoginCookieHeaderAsync($"http://localhost:{statelessGatewayPort}");
            targets.Add(new(StatelessTarget, $"http://127.0.0.1:{statelessGatewayPort}{UpstreamServer.OrdersRoute}", Gateway.CookieHeaders(statelessCookies), ExpectsBearer: true, statelessGateway));
        }

        await CheckTargetsAsync(targets);
        foreach (var target in targets)
        {
            await Wrk.WarmUpAsync(target.RouteUrl + UpstreamServer.Small, settings, target.Headers, load);
        }

        var linesBefore = new[] { yarp.OutputLines, gateway.OutputLines };
        var payloads = new (string Name, string Path)[] { ("small JSON", UpstreamServer.Small), ("64 KiB", UpstreamServer.Large) };
        var levels = new (string Name, int Connections, int Threads)[] { ("loaded", settings.Connections, settings.Threads), ("light", 1, 1) };
        var series = new List<Series>();
        foreach (var level in levels)
        {
            foreach (var payload in payloads)
            {
                var runs = targets.ToDictionary(t => t.Name, _ => new List<WrkResult>());
                for (var round = 1; round <= settings.Rounds; round++)
                {
                    foreach (var target in targets)
                    {
                        var cpuBefore = target.Server.CpuTime;
                        var result = await Wrk.RunAsync(target.RouteUrl + payload.Path, level.Connections, level.Threads, settings.DurationSeconds, target.Headers, load);
                        result = result with { ServerCpuMicrosecondsPerRequest = (target.Server.CpuTime - cpuBefore).TotalMicroseconds / Math.Max(1, result.Requests) };
                        BenchContext.Log($"{(placement is null ? string.Empty : "one CPU: ")}{level.Name} {payload.Name} round {round} {target.Name}: {result.RequestsPerSecond:F0} req/s, p50 {result.P50Ms:F3} ms, p99 {result.P99Ms:F3} ms, errors {result.Errors}, server CPU {result.ServerCpuMicrosecondsPerRequest:F1} µs/request");
                        runs[target.Name].Add(result);
                    }
                }

                series.Add(new Series(level.Name, payload.Name, string.Join(' ', Wrk.WrkArguments(level.Connections, level.Threads, settings.DurationSeconds)), targets.Select(t => t.Name).ToList(), runs));
            }
        }

        // What the proxies write while serving (console only): per-request logging is a cost worth seeing.
        BenchContext.Log($"Last output of bare YARP:\n{yarp.LastLines(4)}");
        BenchContext.Log($"Last output of the gateway:\n{gateway.LastLines(4)}");
        // Where the resident memory is (console only): the managed heap and native allocations are anonymous; the
        // runtime, the assemblies and native libraries are file-backed.
        BenchContext.Log($"Resident memory now, bare YARP: {yarp.MemoryBreakdown}; the gateway: {gateway.MemoryBreakdown}");
        var gatewayRequests = series.Sum(s => s.Runs.Where(r => r.Key is PortcullisTarget or TokenlessTarget).Sum(r => r.Value.Sum(w => w.Requests)));
        var memory = new List<ServerMemory>
        {
            new(DirectTarget + " (upstream)", upstream.PeakMemoryBytes, null),
            new(YarpTarget, yarp.PeakMemoryBytes, (yarp.OutputLines - linesBefore[0]) / (double)series.Sum(s => s.Runs[YarpTarget].Sum(r => r.Requests))),
            new(PortcullisTarget, gateway.PeakMemoryBytes, (gateway.OutputLines - linesBefore[1]) / (double)gatewayRequests),
        };
        if (baselineGateway is not null)
        {
            memory.Add(new(BaselineTarget, baselineGateway.PeakMemoryBytes, null));
        }

        if (cachedGateway is not null)
        {
            memory.Add(new(CachedTarget, cachedGateway.PeakMemoryBytes, null));
        }

        if (splitKeyGateway is not null)
        {
            memory.Add(new(SplitKeyTarget, splitKeyGateway.PeakMemoryBytes, null));
        }

        if (statelessGateway is not null)
        {
            memory.Add(new(StatelessTarget, statelessGateway.PeakMemoryBytes, null));
        }

        return new OverheadResult(series, memory);
    }

    private static async Task<PinnedServer> StartPinnedAsync(string cpus, string name, string mode, params string[] arguments)
    {
        var port = FreePort.Next();
        var url = $"http://127.0.0.1:{port}";
        var process = await ServerProcess.StartSubModeOnAsync(cpus, $"{name} (CPU {cpus})", $"{url}/healthz", [mode, port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. arguments]);
        return new PinnedServer(process, url);
    }

    private static Task<ServerProcess> StartSplitKeyGatewayAsync(TestIdp idp, int port, string upstreamUrl)
    {
        var settings = Gateway.Settings($"http://localhost:{port}", idp, BenchContext.NewDataDirectory("overhead-split-key"), upstreamUrl);
        settings["Portcullis:Session:Mode"] = "split-key";
        return Gateway.StartAsync("gateway in split-key mode", port, settings);
    }

    private static Task<ServerProcess> StartStatelessGatewayAsync(TestIdp idp, int port, string upstreamUrl)
    {
        var dataDirectory = BenchContext.NewDataDirectory("overhead-stateless");
        var settings = Gateway.Settings($"http://localhost:{port}", idp, dataDirectory, upstreamUrl);
        settings["Portcullis:Session:Mode"] = "stateless";
        // No store: the key ring's files are all it writes, in DataDirectory.
        settings.Remove("Portcullis:Store:Kind");
        settings.Remove("Portcullis:Store:ConnectionString");
        settings["Portcullis:DataDirectory"] = dataDirectory;
        return Gateway.StartAsync("gateway in stateless mode", port, settings);
    }

    private static Task<ServerProcess> StartCachedGatewayAsync(BenchContext context, TestIdp idp, int port, TimeSpan cacheDuration)
    {
        var settings = Gateway.Settings($"http://localhost:{port}", idp, BenchContext.NewDataDirectory("overhead-cached"), context.UpstreamUrl);
        settings["Portcullis:Session:CacheDuration"] = cacheDuration.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        return Gateway.StartAsync("gateway with session cache", port, settings);
    }

    /// <summary>Before measuring anything: every target answers 200 with the right body, and only the authenticated route sends a Bearer token upstream.</summary>
    private static async Task CheckTargetsAsync(IEnumerable<Target> targets)
    {
        using var http = new HttpClient();
        foreach (var target in targets)
        {
            foreach (var (path, length) in new[] { (UpstreamServer.Small, UpstreamServer.SmallBody.Length), (UpstreamServer.Large, UpstreamServer.LargeSize) })
            {
                var body = await SendAsync(http, target.RouteUrl + path, target.Headers);
                if (body.Length != length)
                {
                    throw new InvalidOperationException($"{target.Name} {path}: expected {length} bytes, got {body.Length}.");
                }
            }

            var scheme = JsonDocument.Parse(await SendAsync(http, target.RouteUrl + UpstreamServer.Scheme, target.Headers)).RootElement.GetProperty("scheme").GetString();
            var expected = target.ExpectsBearer ? "Bearer" : string.Empty;
            if (scheme != expected)
            {
                throw new InvalidOperationException($"{target.Name}: the upstream saw authorization scheme '{scheme}', expected '{expected}'.");
            }
        }
    }

    private static async Task<byte[]> SendAsync(HttpClient http, string url, Dictionary<string, string>? headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        return response.IsSuccessStatusCode
            ? body
            : throw new InvalidOperationException($"{url}: {(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(body)}");
    }

    /// <summary>One way to reach the upstream: the route's base URL and the headers wrk sends.</summary>
    /// <summary>A URL under load and the server process answering it (the upstream for direct), whose CPU time is measured.</summary>
    private sealed record Target(string Name, string RouteUrl, Dictionary<string, string>? Headers, bool ExpectsBearer, ServerProcess Server);
}

/// <summary>
/// Which CPUs (<c>taskset -c</c> lists) the one-CPU configuration gives the proxies under test and the load generator
/// with the upstream: each proxy is confined to one CPU from its start, as in a container with a one-CPU limit, and
/// never competes with wrk for it.
/// </summary>
internal sealed record CpuPlacement(string Proxies, string Load)
{
    public static readonly CpuPlacement OneCpu = new("0", "1");
}

/// <summary>A server the one-CPU configuration started for itself, with its base URL.</summary>
internal sealed record PinnedServer(ServerProcess Process, string Url) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => Process.DisposeAsync();
}

/// <summary>All rounds of one load level and payload, per target.</summary>
internal sealed record Series(string Load, string Payload, string WrkArguments, IReadOnlyList<string> Targets, Dictionary<string, List<WrkResult>> Runs)
{
    public double MedianRps(string target) => Statistics.Median(Runs[target].Select(r => r.RequestsPerSecond));

    public double MedianP50(string target) => Statistics.Median(Runs[target].Select(r => r.P50Ms));

    public double MedianP99(string target) => Statistics.Median(Runs[target].Select(r => r.P99Ms));

    public long Errors(string target) => Runs[target].Sum(r => r.Errors);

    /// <summary>
    /// Each round's throughput of <paramref name="target"/> over <paramref name="yardstick"/>'s in the same round: the two
    /// ran seconds apart, so a host that drifts between rounds moves both, which the ratio of the medians does not cancel.
    /// </summary>
    public IReadOnlyList<double> RoundRatios(string target, string yardstick) =>
        Runs[target].Zip(Runs[yardstick], (t, y) => t.RequestsPerSecond / y.RequestsPerSecond).ToList();

    /// <summary>Median over the rounds of the server's CPU time per request (µs), or NaN when not measured.</summary>
    public double MedianCpu(string target) =>
        Runs[target].All(r => r.ServerCpuMicrosecondsPerRequest is not null)
            ? Statistics.Median(Runs[target].Select(r => r.ServerCpuMicrosecondsPerRequest!.Value))
            : double.NaN;
}

/// <summary>Peak resident memory of a server over the phase, and how many log lines it wrote per request served.</summary>
internal sealed record ServerMemory(string Server, long PeakBytes, double? LogLinesPerRequest);

internal sealed record OverheadResult(IReadOnlyList<Series> Series, IReadOnlyList<ServerMemory> Memory);
