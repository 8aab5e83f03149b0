using System.Diagnostics;

namespace Portcullis.Bench.Processes;

/// <summary>
/// One server under test as its own OS process on loopback, so its peak memory is its own. Output is drained (a full
/// pipe would stall the server) and only counted, keeping the last lines for error messages: the line count shows
/// whether a server logs on every request.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private const int KeptLines = 40;

    private readonly Process _process;
    private readonly Queue<string> _lastLines = new();
    private long _lines;

    private ServerProcess(string name, Process process, string healthUrl)
    {
        Name = name;
        _process = process;
        HealthUrl = healthUrl;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    public string HealthUrl { get; }

    public int ProcessId => _process.Id;

    /// <summary>User plus system CPU time the process has used since it started, all threads (Linux: /proc/PID/stat).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>Lines the process has written to stdout and stderr so far.</summary>
    public long OutputLines => Interlocked.Read(ref _lines);

    public string LastOutput => LastLines(KeptLines);

    public string LastLines(int count)
    {
        lock (_lastLines)
        {
            return string.Join('\n', _lastLines.Skip(Math.Max(0, _lastLines.Count - count)));
        }
    }

    /// <summary>The peak resident set size of the process so far (VmHWM), in bytes.</summary>
    public long PeakMemoryBytes => ProcessMemory.Read(_process.Id, "VmHWM");

    /// <summary>The resident set size now (VmRSS), in bytes.</summary>
    public long CurrentMemoryBytes => ProcessMemory.Read(_process.Id, "VmRSS");

    /// <summary>The resident set now by kind (anonymous, file-backed, shared), in MiB, for the console.</summary>
    public string MemoryBreakdown => string.Join(", ", new[] { "RssAnon", "RssFile", "RssShmem" }
        .Select(kind => $"{kind} {ProcessMemory.Read(_process.Id, kind) / 1048576.0:F1} MiB"));

    /// <summary>
    /// Starts <c>dotnet</c> with <paramref name="arguments"/> and waits until <paramref name="healthUrl"/> answers 2xx.
    /// With <paramref name="cpus"/> (a <c>taskset -c</c> list) the process may run only on those CPUs from its first
    /// instruction, so the runtime sizes its thread pool and GC for them, as it does in a container with a CPU limit.
    /// </summary>
    public static async Task<ServerProcess> StartDotnetAsync(
        string name,
        IEnumerable<string> arguments,
        string healthUrl,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null,
        string? cpus = null)
    {
        var start = new ProcessStartInfo(cpus is null ? "dotnet" : "taskset")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        if (cpus is not null)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(cpus);
            start.ArgumentList.Add("dotnet");
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name}: dotnet could not be started.");
        var server = new ServerProcess(name, process, healthUrl);
        await server.WaitHealthyAsync();
        return server;
    }

    /// <summary>This program again, in one of its server sub-modes.</summary>
    public static Task<ServerProcess> StartSubModeAsync(string name, string healthUrl, params string[] arguments) =>
        StartSubModeOnAsync(null, name, healthUrl, arguments);

    /// <summary>This program again, in one of its server sub-modes, on <paramref name="cpus"/> only (a <c>taskset -c</c> list; null: any).</summary>
    public static Task<ServerProcess> StartSubModeOnAsync(string? cpus, string name, string healthUrl, params string[] arguments) =>
        StartDotnetAsync(name, [typeof(ServerProcess).Assembly.Location, .. arguments], healthUrl, cpus: cpus);

    private async Task WaitHealthyAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} before it was healthy:\n{LastOutput}");
            }

            try
            {
                using var response = await http.GetAsync(HealthUrl);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        await DisposeAsync();
        throw new TimeoutException($"{Name} did not become healthy at {HealthUrl}:\n{LastOutput}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        Interlocked.Increment(ref _lines);
        lock (_lastLines)
        {
            _lastLines.Enqueue(line);
            if (_lastLines.Count > KeptLines)
            {
                _lastLines.Dequeue();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
