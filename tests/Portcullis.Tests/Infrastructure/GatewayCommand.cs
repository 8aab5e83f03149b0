namespace Portcullis.Tests.Infrastructure;

/// <summary>Runs one of the gateway executable's operator commands (<c>migrate</c>, <c>rotate-keys</c>, <c>reencrypt</c>) to completion.</summary>
public static class GatewayCommand
{
    public static Task<(int ExitCode, string Output)> RunAsync(string command, IReadOnlyDictionary<string, string?> settings, string workingDirectory)
    {
        var environment = CommandLine.AsEnvironment(settings);
        environment["DOTNET_ENVIRONMENT"] = "Production";
        return CommandLine.RunAsync("dotnet", [GatewayProcess.GatewayBinary(), command], workingDirectory, environment);
    }
}
