using Portcullis.Bench.Processes;

namespace Portcullis.Bench;

/// <summary>What every phase shares: the settings, the upstream and the bare YARP proxy in front of it.</summary>
internal sealed record BenchContext(BenchSettings Settings, ServerProcess Upstream, string UpstreamUrl, ServerProcess Yarp, string YarpUrl)
{
    /// <summary>A fresh, empty data directory for a gateway's store and key ring.</summary>
    public static string NewDataDirectory(string purpose) => Directory.CreateTempSubdirectory($"portcullis-bench-{purpose}-").FullName;

    public static void Log(string message) => Console.WriteLine($"[bench {DateTime.UtcNow:HH:mm:ss}] {message}");
}
