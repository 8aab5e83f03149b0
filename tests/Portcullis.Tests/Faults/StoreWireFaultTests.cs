using System.Diagnostics;
using System.Net;
using Npgsql;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.ScaleOut;
using Xunit.Abstractions;

namespace Portcullis.Tests.Faults;

public sealed class StoreWireFaultTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("postgres", Fault.Hold)]
    [InlineData("redis", Fault.Hold)]
    [InlineData("postgres", Fault.BlackHole)]
    [InlineData("redis", Fault.BlackHole)]
    public async Task Explore(string storeKind, Fault fault)
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var storeSettings = await GatewayCluster.StoreSettingsAsync(storeKind);
        var target = storeKind == "postgres"
            ? new NpgsqlConnectionStringBuilder(storeSettings["Portcullis:Store:ConnectionString"]).Port
            : int.Parse(storeSettings["Portcullis:Store:ConnectionString"]!.Split(',')[0].Split(':')[1]);
        await using var wire = FaultProxy.Start(target);
        storeSettings["Portcullis:Store:ConnectionString"] = storeKind == "postgres"
            ? new NpgsqlConnectionStringBuilder(storeSettings["Portcullis:Store:ConnectionString"]) { Port = wire.Port }.ToString()
            : $"127.0.0.1:{wire.Port}";
        await using var stack = await TestStack.StartAsync(adjust: settings =>
        {
            TestStack.OrdersRoute(upstream.Url)(settings);
            foreach (var (key, value) in storeSettings)
            {
                settings[key] = value;
            }
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/before", BrowserClient.Csrf)).Status);
        wire.Fault = fault;
        var watch = Stopwatch.StartNew();
        var during = await browser.GetAsync($"{stack.Origin}/api/orders/during", BrowserClient.Csrf);
        output.WriteLine($"{storeKind} {fault}: {during.Status} after {watch.Elapsed} {during.Body}");
        watch.Restart();
        var during2 = await browser.GetAsync($"{stack.Origin}/api/orders/during2", BrowserClient.Csrf);
        output.WriteLine($"second: {during2.Status} after {watch.Elapsed} {during2.Body}");
        wire.Fault = Fault.None;
        wire.ReleaseHeld();
        watch.Restart();
        var after = await browser.GetAsync($"{stack.Origin}/api/orders/after", BrowserClient.Csrf);
        output.WriteLine($"after: {after.Status} after {watch.Elapsed} {after.Body}");
        await Task.Delay(3000);
        watch.Restart();
        after = await browser.GetAsync($"{stack.Origin}/api/orders/after2", BrowserClient.Csrf);
        output.WriteLine($"after2: {after.Status} after {watch.Elapsed} {after.Body}");
        output.WriteLine(string.Join("\n", stack.Gateway.Logs.All.Split('\n').Where(l => l.Contains("arn") || l.Contains("rror")).Take(20)));
    }
}
