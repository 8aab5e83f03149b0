using System.Security.Cryptography;
using Npgsql;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.ScaleOut;

/// <summary>Start-up against the shared stores: a clear error naming the key when the store is unreachable; <c>migrate</c>.</summary>
[Collection(RunsAloneCollection.Name)]
public sealed class StoreStartupTests
{
    [Theory]
    [InlineData("postgres", "Host=127.0.0.1;Port={0};Database=portcullis;Username=portcullis;Password=hunter2-secret")]
    [InlineData("redis", "127.0.0.1:{0},password=hunter2-secret,connectTimeout=1000")]
    public async Task AnUnreachableStoreStopsStartUpWithAMessageNamingTheKeyButNotThePassword(string kind, string connectionString)
    {
        var port = FreePort.Next(); // nothing listens there
        var settings = Settings(kind, string.Format(System.Globalization.CultureInfo.InvariantCulture, connectionString, port));
        var directory = Directory.CreateTempSubdirectory("portcullis-startup-").FullName;

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => GatewayProcess.StartAsync(settings, FreePort.Next(), directory));
        var (exitCode, output) = await GatewayCommand.RunAsync("migrate", settings, directory);

        Assert.Contains("exited with 2", exception.Message);
        foreach (var text in new[] { exception.Message, output })
        {
            Assert.Contains("Portcullis:Store:ConnectionString", text);
            Assert.Contains($"127.0.0.1:{port}", text);
            Assert.DoesNotContain("hunter2-secret", text);
        }

        Assert.Equal(2, exitCode);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task ASharedStoreWithoutAMasterKeyIsRefusedByName(string kind)
    {
        var settings = Settings(kind, kind == "postgres" ? TestServices.PostgresConnectionString : TestServices.RedisConfiguration);
        settings.Remove("Portcullis:KeyProtection:MasterKey");

        var (exitCode, output) = await GatewayCommand.RunAsync("migrate", settings, Path.GetTempPath());

        Assert.Equal(2, exitCode);
        Assert.Contains("Portcullis:KeyProtection:MasterKey is required", output);
    }

    [Fact]
    public async Task MigrateCreatesThePostgresSchemaOnceAndIsSafeToRepeat()
    {
        var settings = Settings("postgres", await TestServices.CreatePostgresDatabaseAsync());

        var first = await GatewayCommand.RunAsync("migrate", settings, Path.GetTempPath());
        var second = await GatewayCommand.RunAsync("migrate", settings, Path.GetTempPath());

        Assert.True(first.ExitCode == 0, first.Output);
        Assert.True(second.ExitCode == 0, second.Output);
        await using var connection = new NpgsqlConnection(settings["Portcullis:Store:ConnectionString"]);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'sessions'", connection);
        var indexes = (string)(await command.ExecuteScalarAsync())!;
        // The authenticated request's lookup is by primary key; logout everywhere and back-channel logout by index.
        Assert.Contains("sessions_pkey", indexes);
        Assert.Contains("sessions_user", indexes);
        Assert.Contains("sessions_provider_sid", indexes);
    }

    private static Dictionary<string, string?> Settings(string kind, string connectionString) => new()
    {
        ["Portcullis:PublicOrigin"] = "http://localhost:5999",
        ["Portcullis:Providers:main:Authority"] = "http://127.0.0.1:9400",
        ["Portcullis:Providers:main:ClientId"] = "bff",
        ["Portcullis:Providers:main:ClientSecret"] = "bff-secret",
        ["Portcullis:Store:Kind"] = kind,
        ["Portcullis:Store:ConnectionString"] = connectionString,
        ["Portcullis:Store:KeyPrefix"] = TestServices.NewRedisPrefix(),
        ["Portcullis:KeyProtection:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
    };
}
