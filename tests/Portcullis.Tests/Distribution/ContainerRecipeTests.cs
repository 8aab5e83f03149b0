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

    [Fact]
    public void TheImageRunsAsTheNonRootUserOfTheRuntimeImage()
    {
        var dockerfile = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "Dockerfile"));
        var finalStage = dockerfile.Skip(Array.FindLastIndex(dockerfile, line => line.StartsWith("FROM ", StringComparison.Ordinal))).ToList();
        Assert.Contains("USER $APP_UID", finalStage);
        Assert.Contains(dockerfile, line => line.StartsWith("RUN dotnet publish ", StringComparison.Ordinal) && line.EndsWith(" -o /app", StringComparison.Ordinal));
    }

    private static List<string> Files(string directory) =>
        Directory.GetFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
}
