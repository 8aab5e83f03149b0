using System.Diagnostics;
using Portcullis.Bench.Processes;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Bench.Phases;

/// <summary>
/// Completed real logins per second: a few loops, each a new browser (no cookies, new connections) going through
/// /bff/login, the provider's login form and the callback, until the time is up. Everything a login costs is in it —
/// the gateway's work and the provider's (authorize, interaction, token, userinfo) — on one machine.
/// </summary>
internal static class LoginThroughputPhase
{
    /// <summary>
    /// All loops come from 127.0.0.1, and the per-address login limit (default 60 a minute) would measure itself rather
    /// than the login path; it is raised for this phase, and the report says so.
    /// </summary>
    public const int RateLimitPerMinute = 1_000_000;

    public static async Task<LoginResult> RunAsync(BenchContext context, TestIdp idp, int gatewayPort)
    {
        var settings = context.Settings;
        var dataDirectory = BenchContext.NewDataDirectory("login");
        var origin = $"http://localhost:{gatewayPort}";
        var gatewaySettings = Gateway.Settings(origin, idp, dataDirectory, context.UpstreamUrl);
        gatewaySettings["Portcullis:RateLimit:LoginPerMinute"] = RateLimitPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var gateway = await Gateway.StartAsync("gateway", gatewayPort, gatewaySettings);
        await Gateway.LoginAsync(origin); // warm: discovery and JIT, as on a running server

        var duration = TimeSpan.FromSeconds(settings.LoginDurationSeconds);
        var clock = Stopwatch.StartNew();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, settings.LoginConcurrency).Select(loop => LoopAsync(origin, loop, clock, duration)));
        var elapsed = clock.Elapsed;
        var completed = outcomes.Sum(o => o.Completed);
        var result = new LoginResult(settings.LoginConcurrency, elapsed.TotalSeconds, completed, outcomes.Sum(o => o.Failed), completed / elapsed.TotalSeconds,
            gateway.PeakMemoryBytes, outcomes.SelectMany(o => o.FirstErrors).FirstOrDefault());
        BenchContext.Log($"logins: {result.Completed} completed, {result.Failed} failed in {elapsed.TotalSeconds:F1} s = {result.LoginsPerSecond:F1}/s");
        return result;
    }

    private static async Task<(int Completed, int Failed, List<string> FirstErrors)> LoopAsync(string origin, int loop, Stopwatch clock, TimeSpan duration)
    {
        var (completed, failed, errors) = (0, 0, new List<string>());
        var username = loop % 2 == 0 ? "alice" : "bob";
        while (clock.Elapsed < duration)
        {
            try
            {
                await Gateway.LoginAsync(origin, username);
                completed++;
            }
            catch (Exception exception) when (exception is InvalidOperationException or HttpRequestException)
            {
                failed++;
                if (errors.Count == 0)
                {
                    errors.Add(exception.Message);
                }
            }
        }

        return (completed, failed, errors);
    }
}

internal sealed record LoginResult(int Concurrency, double Seconds, int Completed, int Failed, double LoginsPerSecond, long GatewayPeakBytes, string? FirstError);
