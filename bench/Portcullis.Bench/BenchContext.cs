using Portcullis.Bench.Processes;

namespace Portcullis.Bench;

/// <summary>What every phase shares: the settings, the upstream and the bare YARP proxy in front of it.</summary>
internal sealed record BenchContext(BenchSettings Settings, ServerProcess Upstream, string UpstreamUrl, ServerProcess Yarp, string YarpUrl)
{
    private static readonly List<string> DataDirectories = [];

    /// <summary>A fresh, empty data directory for a gateway's store and key ring, deleted at the end of the run.</summary>
    public static string NewDataDirectory(string purpose)
    {
        var directory = Directory.CreateTempSubdirectory($"portcullis-bench-{purpose}-").FullName;
        lock (DataDirectories)
        {
            DataDirectories.Add(directory);
        }

        return directory;
    }

    /// <summary>Removes the stores (with their keys and tokens) once every gateway using them has stopped.</summary>
    public static void DeleteDataDirectories()
    {
        lock (DataDirectories)
        {
            foreach (var directory in DataDirectories.Where(Directory.Exists))
            {
                Directory.Delete(directory, recursive: true);
            }

            DataDirectories.Clear();
        }
    }

    public static void Log(string message) => Console.WriteLine($"[bench {DateTime.UtcNow:HH:mm:ss}] {message}");
}
