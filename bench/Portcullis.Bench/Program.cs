using System.Globalization;
using Portcullis.Bench;
using Portcullis.Bench.Servers;

// bench/run.sh runs this without arguments (the orchestrator); the orchestrator runs it again as the upstream and the
// bare YARP proxy, so that every server is an OS process of its own.
switch (args)
{
    case ["upstream", var port]:
        await UpstreamServer.RunAsync(int.Parse(port, CultureInfo.InvariantCulture));
        return 0;
    case ["yarp", var port, var upstream]:
        await BareYarpServer.RunAsync(int.Parse(port, CultureInfo.InvariantCulture), upstream);
        return 0;
    case []:
        return await BenchRunner.RunAsync(BenchSettings.FromEnvironment());
    default:
        Console.Error.WriteLine("usage: Portcullis.Bench            run the benchmark (see bench/run.sh)");
        Console.Error.WriteLine("       Portcullis.Bench upstream PORT");
        Console.Error.WriteLine("       Portcullis.Bench yarp PORT UPSTREAM_URL");
        return 2;
}
