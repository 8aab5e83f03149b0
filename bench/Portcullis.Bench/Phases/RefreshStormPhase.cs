using System.Diagnostics;
using System.Net;
using Portcullis.Bench.Processes;
using Portcullis.Bench.Servers;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Bench.Phases;

/// <summary>
/// Hundreds of requests on one session, released together just after its access token expired, against one gateway and
/// against two gateway processes sharing one store. Counted: the refresh-token requests the provider saw (target 1) and
/// the requests that did not get 200 (target 0).
/// </summary>
internal static class RefreshStormPhase
{
    public static async Task<IReadOnlyList<StormResult>> RunAsync(BenchContext context)
    {
        var settings = context.Settings;
        var (portA, portB) = (FreePort.Next(), FreePort.Next());
        var origin = $"http://localhost:{portA}"; // both nodes answer for one public origin
        await using var idp = await TestIdp.StartAsync([origin], accessTokenTtl: settings.StormTokenTtlSeconds);
        var results = new List<StormResult>();

        var single = BenchContext.NewDataDirectory("storm-one");
        await using (var node = await Gateway.StartAsync("gateway A", portA, StormSettings(origin, idp, single, context)))
        {
            results.AddRange(await StormsAsync(context, idp, "1 gateway", [portA]));
        }

        var shared = BenchContext.NewDataDirectory("storm-two");
        var sharedSettings = StormSettings(origin, idp, shared, context);
        await using (var nodeA = await Gateway.StartAsync("gateway A", portA, sharedSettings))
        {
            // The first node creates the key ring; the second starts after it and reads the same one.
            var cookie = await Gateway.LoginAsync(origin);
            await using var nodeB = await Gateway.StartAsync("gateway B", portB, sharedSettings);
            results.AddRange(await StormsAsync(context, idp, "2 gateways, one store", [portA, portB], cookie));
        }

        return results;
    }

    private static Dictionary<string, string?> StormSettings(string origin, TestIdp idp, string dataDirectory, BenchContext context)
    {
        var settings = Gateway.Settings(origin, idp, dataDirectory, context.UpstreamUrl);
        settings["Portcullis:Refresh:Skew"] = TimeSpan.FromSeconds(BenchSettings.StormRefreshSkewSeconds).ToString("c");
        return settings;
    }

    private static async Task<List<StormResult>> StormsAsync(BenchContext context, TestIdp idp, string configuration, int[] ports, string? cookie = null)
    {
        var settings = context.Settings;
        var ttl = TimeSpan.FromSeconds(settings.StormTokenTtlSeconds);
        cookie ??= await Gateway.LoginAsync($"http://localhost:{ports[0]}");
        var tokenIssuedBy = Stopwatch.StartNew(); // the newest access token was issued before this moment
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5), MaxConnectionsPerServer = int.MaxValue })
        {
            Timeout = TimeSpan.FromSeconds(60),
        };
        var urls = ports.Select(p => $"http://127.0.0.1:{p}{UpstreamServer.SmallPath}").ToArray();
        foreach (var url in urls)
        {
            // Every node warm, as in production: it has served this session before.
            await SendAsync(http, url, cookie, expectOk: true);
        }

        var results = new List<StormResult>();
        for (var round = 1; round <= settings.StormRounds; round++)
        {
            // Open the connections first (on /healthz, which touches no token), so the storm measures the gateway, not TCP set-up.
            await Task.WhenAll(Enumerable.Range(0, settings.StormRequests).Select(async i =>
            {
                using var warm = await http.GetAsync($"http://127.0.0.1:{ports[i % ports.Length]}/healthz");
            }));
            var expired = ttl + TimeSpan.FromSeconds(1) - tokenIssuedBy.Elapsed;
            if (expired > TimeSpan.Zero)
            {
                await Task.Delay(expired);
            }

            await idp.ResetAsync();
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var requests = Enumerable.Range(0, settings.StormRequests)
                .Select(async i =>
                {
                    await gate.Task;
                    return await SendAsync(http, urls[i % urls.Length], cookie, expectOk: false);
                })
                .ToArray();
            var clock = Stopwatch.StartNew();
            gate.SetResult();
            var statuses = await Task.WhenAll(requests);
            var elapsed = clock.Elapsed;
            tokenIssuedBy.Restart();

            var refreshes = (await idp.EventsAsync("token")).Where(e => e.GetProperty("grant_type").GetString() == "refresh_token").ToArray();
            var result = new StormResult(
                configuration,
                round,
                settings.StormRequests,
                refreshes.Length,
                refreshes.Count(e => e.GetProperty("outcome").GetString() == "success"),
                statuses.Count(s => s != "200"),
                string.Join(", ", statuses.GroupBy(s => s).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}×{g.Count()}")),
                elapsed.TotalMilliseconds,
                OutlastedFreshToken: elapsed > ttl - TimeSpan.FromSeconds(BenchSettings.StormRefreshSkewSeconds));
            BenchContext.Log($"storm {configuration} round {round}: {result.RefreshRequests} refresh request(s), {result.Failed} failed ({result.Statuses}) in {elapsed.TotalMilliseconds:F0} ms");
            results.Add(result);
        }

        return results;
    }

    /// <summary>The answer's status code as text, or the exception's type name when there was no answer.</summary>
    private static async Task<string> SendAsync(HttpClient http, string url, string cookie, bool expectOk)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        foreach (var (name, value) in Gateway.AuthenticatedHeaders(cookie))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        try
        {
            using var response = await http.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
            if (expectOk && response.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"{url}: {(int)response.StatusCode} before the storm.");
            }

            return ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (!expectOk && exception is HttpRequestException or TaskCanceledException)
        {
            return exception.GetType().Name;
        }
    }
}

/// <summary>One storm: how many refresh-token requests reached the provider and how many API requests failed.</summary>
/// <param name="OutlastedFreshToken">The storm took longer than a refreshed token stays fresh, so a second refresh would have been due, not double.</param>
internal sealed record StormResult(string Configuration, int Round, int Requests, int RefreshRequests, int SuccessfulRefreshes, int Failed, string Statuses, double ElapsedMs, bool OutlastedFreshToken);
