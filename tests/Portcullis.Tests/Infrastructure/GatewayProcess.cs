using System.Diagnostics;
using System.Text;

namespace Portcullis.Tests.Infrastructure;

/// <summary>
/// The real gateway executable (<c>Portcullis.Gateway.dll</c>) as a separate OS process on a loopback port, for tests
/// where nodes must share nothing but the store: no memory, no in-process locks. Its output is captured for log checks.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private GatewayProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Port { get; }

    public string Origin => $"http://localhost:{Port}";

    public int ProcessId => _process.Id;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the gateway with <paramref name="settings"/> (configuration keys such as <c>Portcullis:PublicOrigin</c>) and waits until it is healthy.</summary>
    public static Task<GatewayProcess> StartAsync(IReadOnlyDictionary<string, string?> settings, int port, string workingDirectory) =>
        StartAsync("dotnet", [GatewayBinary()], settings, port, workingDirectory);

    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="arguments"/> (then <c>--urls</c>) as the gateway: any
    /// host of Portcullis, such as an app built from the packed package or the installed <c>portcullis</c> tool.
    /// </summary>
    public static async Task<GatewayProcess> StartAsync(
        string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?> settings, int port, string workingDirectory)
    {
        var start = CommandLine.StartInfo(fileName, arguments, workingDirectory);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://localhost:{port}");
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Information";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} could not be started.");
        var gateway = new GatewayProcess(process, port);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                // Waiting for the exit drains the asynchronous stdout/stderr readers: without it the message could
                // miss the gateway's last lines (seen on a loaded machine: an empty error output).
                await process.WaitForExitAsync();
                throw new InvalidOperationException($"The gateway process exited with {process.ExitCode}: {gateway.Output}");
            }

            try
            {
                using var response = await http.GetAsync($"{gateway.Origin}/healthz");
                if (response.IsSuccessStatusCode)
                {
                    return gateway;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100); // real: waits for the gateway process to answer
        }

        await gateway.DisposeAsync();
        throw new TimeoutException($"The gateway process did not become healthy: {gateway.Output}");
    }

    /// <summary>Freezes the node (SIGSTOP): it holds its leases and connections but does nothing, not even renew.</summary>
    public void Freeze() => ProcessSignals.Stop(_process.Id);

    /// <summary>Lets a frozen node run again (SIGCONT).</summary>
    public void Thaw() => ProcessSignals.Continue(_process.Id);

    /// <summary>Kills the process at once, as a crash would.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    /// <summary>The gateway built in the same configuration (Debug/Release) as the test assembly.</summary>
    internal static string GatewayBinary()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Debug"
            : "Release";
        var path = Path.Combine(RepositoryPaths.Root, "src", "Portcullis.Gateway", "bin", configuration, "net10.0", "Portcullis.Gateway.dll");
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException($"The gateway binary is missing at {path}: build the solution first (./test.sh does).");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
