using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Distribution;

/// <summary>
/// The gateway as an operator gets it (issue 21 item 3): the packed <c>Portcullis.Gateway</c> tool installed into a
/// temporary tool path, then run as <c>portcullis</c> with a JSON configuration file.
/// </summary>
public sealed class GatewayToolTests
{
    /// <summary>
    /// README's quick start, line by line as written there, with three substitutions a test needs: a temporary tool path
    /// for <c>--global</c>, the packed folder's full path for <c>artifacts/packages</c>, and this test's configuration
    /// file for <c>gateway.json</c>.
    /// </summary>
    [Fact]
    public async Task TheReadmesToolQuickStartInstallsShowsItsCommandsMigratesAndServes()
    {
        PackedPackages.Package("Portcullis.Gateway");
        var lines = ReadmeSnippets.CodeBlock("The gateway, as a .NET tool", "sh").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        var directory = Directory.CreateTempSubdirectory("portcullis-tool-").FullName;
        try
        {
            var environment = PackedPackages.WriteEmptyNuGetConfig(directory);
            var tools = Path.Combine(directory, "tools");
            var portcullis = Path.Combine(tools, "portcullis");
            var port = FreePort.Next();
            await using var idp = await TestIdp.StartAsync([$"http://localhost:{port}"]);
            var data = Path.Combine(directory, "data");
            Directory.CreateDirectory(data);
            var config = Path.Combine(directory, "gateway.json");
            File.WriteAllText(config, AsJson(GatewayHost.DefaultSettings(port, idp, data)).ToJsonString());
            string[] Arguments(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..]
                .Select(a => a switch { "--global" => "--tool-path", "gateway.json" => config, "artifacts/packages" => PackedPackages.Folder, _ => a })
                .SelectMany(a => a == "--tool-path" ? new[] { a, tools } : [a])
                .ToArray();

            Assert.StartsWith("dotnet tool install --global Portcullis.Gateway ", lines[0], StringComparison.Ordinal);
            var (installed, installOutput) = await CommandLine.RunAsync("dotnet", Arguments(lines[0]), directory, environment, TimeSpan.FromMinutes(3));
            Assert.True(installed == 0, installOutput);

            Assert.Equal("portcullis --help", lines[1]);
            var (helpExit, help) = await CommandLine.RunAsync(portcullis, Arguments(lines[1]), directory, environment);
            Assert.Equal(0, helpExit);
            foreach (var expected in new[] { "migrate", "rotate-keys", "reencrypt", "probe", "--config", "--urls", "Portcullis:Store:Kind" })
            {
                Assert.Contains(expected, help, StringComparison.Ordinal);
            }

            Assert.StartsWith("portcullis migrate ", lines[2], StringComparison.Ordinal);
            var (migrated, migrateOutput) = await CommandLine.RunAsync(portcullis, Arguments(lines[2]), directory, environment);
            Assert.True(migrated == 0, migrateOutput);
            Assert.Contains("schema is up to date", migrateOutput, StringComparison.Ordinal);
            Assert.NotEmpty(Tables(Path.Combine(data, "portcullis.db")));

            Assert.StartsWith("portcullis --config ", lines[3], StringComparison.Ordinal);
            await using var gateway = await GatewayProcess.StartAsync(portcullis, Arguments(lines[3]), new Dictionary<string, string?>(), port, directory);
            using var browser = new BrowserClient();
            var health = await browser.GetAsync($"{gateway.Origin}/healthz");
            Assert.Equal(HttpStatusCode.OK, health.Status);
            Assert.Contains("\"store\":\"healthy\"", health.Body, StringComparison.Ordinal);

            // The probe the container's HEALTHCHECK runs, from the installed tool.
            var (probed, probeOutput) = await CommandLine.RunAsync(portcullis, ["probe", $"{gateway.Origin}/healthz/live"], directory, environment);
            Assert.True(probed == 0, probeOutput);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Flat keys (<c>Portcullis:Providers:main:Scopes:0</c>) as the nested JSON an operator writes.</summary>
    private static JsonObject AsJson(IReadOnlyDictionary<string, string?> settings)
    {
        var root = new JsonObject();
        foreach (var (key, value) in settings)
        {
            var parts = key.Split(':');
            var node = root;
            foreach (var part in parts[..^1])
            {
                node = node[part] as JsonObject ?? (JsonObject)(node[part] = new JsonObject());
            }

            node[parts[^1]] = value;
        }

        return root;
    }

    private static List<string> Tables(string database)
    {
        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
        using var reader = command.ExecuteReader();
        var tables = new List<string>();
        while (reader.Read())
        {
            tables.Add(reader.GetString(0));
        }

        return tables;
    }
}
