using System.Diagnostics;

namespace Portcullis.Tests.Infrastructure;

/// <summary>Runs a program to completion and returns its exit code with stdout and stderr together.</summary>
public static class CommandLine
{
    /// <summary>How to start <paramref name="fileName"/> with its output redirected, arguments passed one by one.</summary>
    public static ProcessStartInfo StartInfo(
        string fileName, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[key] = value;
        }

        return start;
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment = null,
        TimeSpan? timeout = null)
    {
        var start = StartInfo(fileName, arguments, workingDirectory, environment);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} could not be started.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', start.ArgumentList)} did not finish in time: {await output}{await error}");
        }

        return (process.ExitCode, await output + await error);
    }

    /// <summary>Configuration keys (<c>Portcullis:Store:Kind</c>) as the environment variables .NET reads them from.</summary>
    public static Dictionary<string, string?> AsEnvironment(IReadOnlyDictionary<string, string?> settings) =>
        settings.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value);
}
