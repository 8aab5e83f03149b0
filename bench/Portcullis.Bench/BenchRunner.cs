using Portcullis.Bench.Phases;
using Portcullis.Bench.Processes;
using Portcullis.Bench.Reporting;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Bench;

/// <summary>Starts the shared servers, runs the chosen phases in turn and writes the report.</summary>
internal static class BenchRunner
{
    public static async Task<int> RunAsync(BenchSettings settings)
    {
        try
        {
            return await RunPhasesAsync(settings);
        }
        finally
        {
            BenchContext.DeleteDataDirectories();
        }
    }

    private static async Task<int> RunPhasesAsync(BenchSettings settings)
    {
        var report = new BenchReport
        {
            StartedAt = DateTimeOffset.UtcNow,
            Settings = settings,
            Machine = MachineInfo.Collect(),
            LoadAtStart = MachineInfo.LoadAverage(),
        };
        BenchContext.Log($"{(settings.Quick ? "QUICK mode (not representative)" : "full run")}; phases: {string.Join(", ", settings.Phases)}; load average {report.LoadAtStart}");

        var (upstreamPort, yarpPort, gatewayPort, cachedGatewayPort, splitKeyGatewayPort) = (FreePort.Next(), FreePort.Next(), FreePort.Next(), FreePort.Next(), FreePort.Next());
        var statelessGatewayPort = FreePort.Next();
        var upstreamUrl = $"http://127.0.0.1:{upstreamPort}";
        var yarpUrl = $"http://127.0.0.1:{yarpPort}";
        await using var upstream = await ServerProcess.StartSubModeAsync("upstream", $"{upstreamUrl}/healthz", "upstream", upstreamPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await using var yarp = await ServerProcess.StartSubModeAsync("bare YARP", $"{yarpUrl}/healthz", "yarp", yarpPort.ToString(System.Globalization.CultureInfo.InvariantCulture), upstreamUrl);
        var context = new BenchContext(settings, upstream, upstreamUrl, yarp, yarpUrl);

        // One provider with access tokens that outlive the run, so no refresh happens outside the storm phase.
        await using (var idp = await TestIdp.StartAsync([$"http://localhost:{gatewayPort}", $"http://localhost:{cachedGatewayPort}", $"http://localhost:{splitKeyGatewayPort}", $"http://localhost:{statelessGatewayPort}"], accessTokenTtl: BenchSettings.LongTokenTtlSeconds))
        {
            if (settings.Runs("overhead"))
            {
                BenchContext.Log("Phase: proxy overhead");
                report.Overhead = await ProxyOverheadPhase.RunAsync(context, idp, gatewayPort, cachedGatewayPort, splitKeyGatewayPort, statelessGatewayPort);
            }

            if (settings.Runs("onecpu"))
            {
                if (Environment.ProcessorCount < 2)
                {
                    BenchContext.Log("Phase: one CPU each skipped: it needs two CPUs (one for the proxies, one for wrk)");
                }
                else
                {
                    BenchContext.Log("Phase: proxy overhead with each proxy confined to one CPU");
                    report.OneCpu = await ProxyOverheadPhase.RunAsync(context, idp, gatewayPort, cachedGatewayPort, splitKeyGatewayPort, statelessGatewayPort, CpuPlacement.OneCpu);
                }
            }

            if (settings.Runs("profile"))
            {
                BenchContext.Log("Phase: profile of the authenticated path");
                report.Profile = await HotPathProfilePhase.RunAsync(context, idp, gatewayPort);
            }

            if (settings.Runs("scale"))
            {
                BenchContext.Log("Phase: session scale");
                report.Scale = await SessionScalePhase.RunAsync(context, idp, gatewayPort);
            }

            if (settings.Runs("pgscale"))
            {
                BenchContext.Log("Phase: session scale on PostgreSQL");
                report.PostgresScale = await PostgresScalePhase.RunAsync(context, idp, gatewayPort);
            }

            if (settings.Runs("login"))
            {
                BenchContext.Log("Phase: login throughput");
                report.Login = await LoginThroughputPhase.RunAsync(context, idp, gatewayPort);
            }
        }

        if (settings.Runs("storm"))
        {
            BenchContext.Log("Phase: refresh storm");
            report.Storms = await RefreshStormPhase.RunAsync(context);
        }

        report.LoadAtEnd = MachineInfo.LoadAverage();
        var written = ResultsWriter.Write(report);
        BenchContext.Log($"Report written to {written}; summary updated in docs/benchmarks.md");
        Console.WriteLine();
        Console.WriteLine(report.Short(written));
        return 0;
    }
}
