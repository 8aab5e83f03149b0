using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Portcullis.Agent;
using Portcullis.Storage;

namespace Portcullis.Endpoints;

/// <summary>
/// <c>GET /healthz/live</c> (the process answers) and <c>GET /healthz/ready</c> (store reachable, key ring usable,
/// every provider's metadata loaded). Ready answers within a bound whatever hangs, so an orchestrator's probe never
/// times out instead of reading 503. The body names each check and its state: never a secret, a connection string or
/// an exception message.
/// </summary>
internal static class HealthEndpoints
{
    /// <summary>Each check's bound: the three together stay well under the 5 s a probe allows (issue 19).</summary>
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(1.5);

    public static IResult Live() => Results.Json(new LivenessReport("live"), EndpointJsonContext.Default.LivenessReport);

    public static async Task<IResult> ReadyAsync(IStoreLifecycle store, IDataProtectionProvider dataProtection, ProviderRegistry providers, TimeProvider time)
    {
        var checks = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["store"] = await CheckAsync(ct => store.IsHealthyAsync(ct), time),
            ["key_ring"] = KeyRingState(dataProtection),
        };
        foreach (var provider in providers.All)
        {
            checks[$"provider:{provider.Name}"] = await CheckAsync(async ct => (await provider.Metadata.GetConfigurationAsync(ct)) is not null, time);
        }

        var ready = checks.Values.All(state => state == "ok");
        return Results.Json(new ReadinessReport(ready ? "ready" : "not_ready", checks), EndpointJsonContext.Default.ReadinessReport, statusCode: ready ? 200 : 503);
    }

    private static async Task<string> CheckAsync(Func<CancellationToken, Task<bool>> check, TimeProvider time)
    {
        using var timeout = new CancellationTokenSource(CheckTimeout, time);
        try
        {
            return await check(timeout.Token).WaitAsync(CheckTimeout, time, timeout.Token) ? "ok" : "unavailable";
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            return "timeout";
        }
        catch (Exception)
        {
            // Whatever failed, the body says only that it did: an exception message can carry a connection string.
            return "unavailable";
        }
    }

    /// <summary>The key ring can protect: it was loaded (or created) and has a key in use.</summary>
    private static string KeyRingState(IDataProtectionProvider dataProtection)
    {
        try
        {
            dataProtection.CreateProtector("Portcullis.Readiness.v1").Protect([1]);
            return "ok";
        }
        catch (Exception)
        {
            return "unavailable";
        }
    }
}

internal sealed record LivenessReport(string Status);

internal sealed record ReadinessReport(string Status, Dictionary<string, string> Checks);
