using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Distribution;

/// <summary>
/// What can be checked of the container recipe without a container (issue 21 item 4; base images cannot be fetched
/// here): ./test.sh runs the Dockerfile's own <c>dotnet publish</c> line into artifacts/gateway, and this starts the
/// result as the image's entry point does, from a separate data folder.
/// </summary>
public sealed class ContainerRecipeTests
{
    private static readonly string Published = Path.Combine(RepositoryPaths.Root, "artifacts", "gateway");

    [Fact]
    public async Task TheDockerfilesPublishOutputServesAndWritesOnlyToItsDataFolder()
    {
        var entryPoint = Path.Combine(Published, "Portcullis.Gateway.dll");
        Assert.True(File.Exists(entryPoint), $"{entryPoint} is missing: ./test.sh publishes it with the Dockerfile's publish line.");
        var before = Files(Published);
        var data = Directory.CreateTempSubdirectory("portcullis-container-data-").FullName;
        try
        {
            var port = FreePort.Next();
            await using var idp = await TestIdp.StartAsync([$"http://localhost:{port}"]);
            var settings = GatewayHost.DefaultSettings(port, idp, data);
            // As in the image: the store's path is relative to the working directory, /data there.
            settings["Portcullis:Store:ConnectionString"] = "Data Source=portcullis.db";
            await using (var gateway = await GatewayProcess.StartAsync("dotnet", [entryPoint], settings, port, data))
            {
                using var browser = new BrowserClient();
                var health = await browser.GetAsync($"{gateway.Origin}/healthz");
                Assert.Equal(HttpStatusCode.OK, health.Status);
                Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{gateway.Origin}/bff/user", BrowserClient.Csrf)).Status);
            }

            // A read-only /app works only if the gateway never writes beside its binaries.
            Assert.Equal(before, Files(Published));
            Assert.True(File.Exists(Path.Combine(data, "portcullis.db")));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>
    /// The image's HEALTHCHECK, run as written (its <c>CMD</c> array, with /app the published folder and port 8080 the
    /// test's port): exit 0 while the gateway answers /healthz/live, 1 once it has stopped. The runtime image has no
    /// curl or wget, so the probe is the gateway's own <c>probe</c> command.
    /// </summary>
    [Fact]
    public async Task TheHealthCheckExitsZeroWhileTheGatewayLivesAndOneOnceItHasStopped()
    {
        var command = HealthCheckCommand();
        Assert.Equal(["dotnet", "/app/Portcullis.Gateway.dll", "probe", "http://localhost:8080/healthz/live"], command);
        var entryPoint = Path.Combine(Published, "Portcullis.Gateway.dll");
        Assert.True(File.Exists(entryPoint), $"{entryPoint} is missing: ./test.sh publishes it with the Dockerfile's publish line.");
        var data = Directory.CreateTempSubdirectory("portcullis-container-probe-").FullName;
        try
        {
            var port = FreePort.Next();
            var arguments = command.Skip(1)
                .Select(a => a.Replace("/app/", Published + "/", StringComparison.Ordinal).Replace(":8080/", $":{port}/", StringComparison.Ordinal))
                .ToList();
            await using var idp = await TestIdp.StartAsync([$"http://localhost:{port}"]);
            var settings = GatewayHost.DefaultSettings(port, idp, data);
            await using (await GatewayProcess.StartAsync("dotnet", [entryPoint], settings, port, data))
            {
                var (healthy, healthyOutput) = await CommandLine.RunAsync(command[0], arguments, data);
                Assert.True(healthy == 0, healthyOutput);
                Assert.Contains("200", healthyOutput, StringComparison.Ordinal);

                // Not a 2xx is unhealthy too: the same probe against a path the gateway answers 404.
                var missing = arguments.Select(a => a.Replace("/healthz/live", "/healthz/nowhere", StringComparison.Ordinal));
                var (notFound, notFoundOutput) = await CommandLine.RunAsync(command[0], missing, data);
                Assert.True(notFound == 1, notFoundOutput);
            }

            var (stopped, stoppedOutput) = await CommandLine.RunAsync(command[0], arguments, data);
            Assert.True(stopped == 1, stoppedOutput);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public void TheImageRunsAsTheNonRootUserOfTheRuntimeImage()
    {
        var dockerfile = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "Dockerfile"));
        var finalStage = dockerfile.Skip(Array.FindLastIndex(dockerfile, line => line.StartsWith("FROM ", StringComparison.Ordinal))).ToList();
        Assert.Contains("USER $APP_UID", finalStage);
        Assert.Contains(dockerfile, line => line.StartsWith("RUN dotnet publish ", StringComparison.Ordinal) && line.EndsWith(" -o /app", StringComparison.Ordinal));
    }

    /// <summary>The exec-form <c>CMD</c> of the Dockerfile's <c>HEALTHCHECK</c> (which may continue over lines).</summary>
    private static string[] HealthCheckCommand()
    {
        var dockerfile = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "Dockerfile")).Replace("\\\n", " ", StringComparison.Ordinal);
        var line = dockerfile.Split('\n').SingleOrDefault(l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("The Dockerfile has no HEALTHCHECK.");
        var json = line[(line.IndexOf(" CMD ", StringComparison.Ordinal) + 5)..].Trim();
        return System.Text.Json.JsonSerializer.Deserialize<string[]>(json)!;
    }

    private static List<string> Files(string directory) =>
        Directory.GetFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
}
