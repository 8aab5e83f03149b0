using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Portcullis.Bench.Reporting;

/// <summary>What the numbers were measured on; without it they mean little.</summary>
internal sealed record MachineInfo(string Cpu, int LogicalCores, string Memory, string OperatingSystem, string DotnetRuntime, string DotnetSdk, string Node, string Wrk)
{
    public static MachineInfo Collect() => new(
        FirstValue("/proc/cpuinfo", "model name") ?? "unknown",
        Environment.ProcessorCount,
        FirstValue("/proc/meminfo", "MemTotal") is { } kb ? $"{long.Parse(kb.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024 / 1024.0:F1} GiB" : "unknown",
        $"{OsRelease()} (Linux {Read("/proc/sys/kernel/osrelease")})",
        RuntimeInformation.FrameworkDescription,
        Command("dotnet", "--version"),
        Command("node", "--version"),
        Command("wrk", "-v").Split('\n')[0]);

    /// <summary>The 1, 5 and 15 minute load averages: a busy machine shows here.</summary>
    public static string LoadAverage() => string.Join(' ', Read("/proc/loadavg").Split(' ').Take(3));

    private static string? FirstValue(string file, string key) =>
        File.Exists(file)
            ? File.ReadLines(file).Where(l => l.StartsWith(key, StringComparison.Ordinal)).Select(l => l.Split(':', 2)[1].Trim()).FirstOrDefault()
            : null;

    private static string OsRelease() =>
        File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").Where(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal)).Select(l => l.Split('=', 2)[1].Trim('"')).FirstOrDefault() ?? "unknown"
            : RuntimeInformation.OSDescription;

    private static string Read(string file) => File.Exists(file) ? File.ReadAllText(file).Trim() : "unknown";

    private static string Command(string file, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return output.Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "not installed";
        }
    }
}
