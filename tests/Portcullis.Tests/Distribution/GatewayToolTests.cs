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
    [Fact]
    public async Task TheInstalledToolShowsItsCommandsMigratesAndServes()
    {
        PackedPackages.Package("Portcullis.Gateway");
        var directory = Directory.CreateTempSubdirectory("portcullis-tool-").FullName;
        try
        {
            var environment = PackedPackages.WriteEmptyNuGetConfig(directory);
            var tools = Path.Combine(directory, "tools");
            var (installed, installOutput) = await CommandLine.RunAsync(
                "dotnet",
                ["tool", "install", "Portcullis.Gateway", "--tool-path", tools, "--add-source", PackedPackages.Folder, "--version", PackedPackages.Version],
                directory,
                environment,
                TimeSpan.FromMinutes(3));
            Assert.True(installed == 0, installOutput);
            var portcullis = Path.Combine(tools, "portcullis");

            var (helpExit, help) = await CommandLine.RunAsync(portcullis, ["--help"], directory, environment);
            Assert.Equal(0, helpExit);
            foreach (var expected in new[] { "migrate", "rotate-keys", "reencrypt", "--config", "--urls", "Portcullis:Store:Kind" })
            {
                Assert.Contains(expected, help, StringComparison.Ordinal);
            }

            var port = FreePort.Next();
            await using var idp = await TestIdp.StartAsync([$"http://localhost:{port}"]);
            var data = Path.Combine(directory, "data");
            Directory.CreateDirectory(data);
            var config = Path.Combine(directory, "gateway.json");
            File.WriteAllText(config, AsJson(GatewayHost.DefaultSettings(port, idp, data)).ToJsonString());

            var (migrated, migrateOutput) = await CommandLine.RunAsync(portcullis, ["migrate", "--config", config], directory, environment);
            Assert.True(migrated == 0, migrateOutput);
            Assert.Contains("schema is up to date", migrateOutput, StringComparison.Ordinal);
            Assert.NotEmpty(Tables(Path.Combine(data, "portcullis.db")));

            await using var gateway = await GatewayProcess.StartAsync(portcullis, ["--config", config], new Dictionary<string, string?>(), port, directory);
            using var browser = new BrowserClient();
            var health = await browser.GetAsync($"{gateway.Origin}/healthz");
            Assert.Equal(HttpStatusCode.OK, health.Status);
            Assert.Contains("\"store\":\"healthy\"", health.Body, StringComparison.Ordinal);
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
