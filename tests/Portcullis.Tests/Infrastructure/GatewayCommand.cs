using System.Diagnostics;

namespace Portcullis.Tests.Infrastructure;

/// <summary>Runs one of the gateway executable's operator commands (<c>migrate</c>, <c>rotate-keys</c>, <c>reencrypt</c>) to completion.</summary>
public static class GatewayCommand
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string command, IReadOnlyDictionary<string, string?> settings, string workingDirectory)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(GatewayProcess.GatewayBinary());
        start.ArgumentList.Add(command);
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet could not be started.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }
}
