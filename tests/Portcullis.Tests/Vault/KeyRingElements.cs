using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption;
using Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Portcullis.Tests.Infrastructure;
using StackExchange.Redis;

namespace Portcullis.Tests.Vault;

/// <summary>Key-ring elements as an attacker with write access to the store would make them, and ways to put them there.</summary>
internal static class KeyRingElements
{
    /// <summary>
    /// A genuine Data Protection key in clear, made by Data Protection itself with no XML encryptor (what the previous
    /// version wrote beside SQLite without a master key), active from <paramref name="activation"/>.
    /// </summary>
    public static (Guid KeyId, XElement Element) PlaintextKey(DateTimeOffset activation)
    {
        var directory = Directory.CreateTempSubdirectory("portcullis-planted-key-");
        try
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddDataProtection()
                .SetApplicationName("Portcullis")
                .PersistKeysToFileSystem(directory)
                .UseCryptographicAlgorithms(new AuthenticatedEncryptorConfiguration
                {
                    EncryptionAlgorithm = EncryptionAlgorithm.AES_256_GCM,
                    ValidationAlgorithm = ValidationAlgorithm.HMACSHA256,
                });
            using var provider = services.BuildServiceProvider();
            var key = provider.GetRequiredService<IKeyManager>().CreateNewKey(activation, activation.AddDays(90));
            var element = XElement.Load(Path.Combine(directory.FullName, $"key-{key.KeyId:D}.xml"));
            Assert.Contains("<masterKey", element.ToString()); // really in clear
            return (key.KeyId, element);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>A revocation of every key created before <paramref name="date"/>, as Data Protection writes one.</summary>
    public static XElement RevocationOfAllKeys(DateTimeOffset date) =>
        new("revocation", new XAttribute("version", 1),
            new XElement("revocationDate", date.ToString("O")),
            new XComment(" All keys created before the revocation date are revoked. "),
            new XElement("key", new XAttribute("id", "*")),
            new XElement("reason", "planted"));

    /// <summary>Writes <paramref name="xml"/> under <paramref name="name"/> straight into the store's key ring, as a writer of the store would.</summary>
    public static async Task InsertAsync(Dictionary<string, string?> settings, string name, string xml)
    {
        var connectionString = settings["Portcullis:Store:ConnectionString"]!;
        if (settings["Portcullis:Store:Kind"] == "postgres")
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("INSERT INTO data_protection_keys (name, xml, created_at) VALUES (@name, @xml, @now);", connection);
            command.Parameters.AddWithValue("name", name);
            command.Parameters.AddWithValue("xml", xml);
            command.Parameters.AddWithValue("now", long.MaxValue); // sorts last: read as the newest element
            await command.ExecuteNonQueryAsync();
        }
        else
        {
            await using var redis = await ConnectionMultiplexer.ConnectAsync(connectionString);
            Assert.True(await redis.GetDatabase().HashSetAsync(settings["Portcullis:Store:KeyPrefix"] + "keyring", name, xml));
        }
    }

    /// <summary>
    /// Removes a Redis test's keys and rewrites the append-only file, so the plaintext keys a test planted are not left in
    /// the shared server's files, where <c>StoreDumpTests</c> (same collection, so never at the same time) looks for them.
    /// </summary>
    public static async Task ForgetRedisAsync(Dictionary<string, string?> settings)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(settings["Portcullis:Store:ConnectionString"] + ",allowAdmin=true");
        var server = redis.GetServers().Single();
        await foreach (var key in server.KeysAsync(pattern: settings["Portcullis:Store:KeyPrefix"] + "*"))
        {
            await redis.GetDatabase().KeyDeleteAsync(key);
        }

        await Eventually.Until(async () => (string?)(await server.ExecuteAsync("INFO", "persistence")), info => !info!.Contains("aof_rewrite_in_progress:1", StringComparison.Ordinal), "no AOF rewrite to be running");
        await server.ExecuteAsync("BGREWRITEAOF");
        await Eventually.Until(
            async () => (string?)(await server.ExecuteAsync("INFO", "persistence")),
            info => info!.Contains("aof_rewrite_in_progress:0", StringComparison.Ordinal) && info.Contains("aof_rewrite_scheduled:0", StringComparison.Ordinal),
            "the AOF rewrite to finish");
    }

    /// <summary>Every element of the store's key ring as stored.</summary>
    public static async Task<List<string>> StoredAsync(Dictionary<string, string?> settings)
    {
        var connectionString = settings["Portcullis:Store:ConnectionString"]!;
        if (settings["Portcullis:Store:Kind"] == "postgres")
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT xml FROM data_protection_keys", connection);
            await using var reader = await command.ExecuteReaderAsync();
            var ring = new List<string>();
            while (await reader.ReadAsync())
            {
                ring.Add(reader.GetString(0));
            }

            return ring;
        }

        await using var redis = await ConnectionMultiplexer.ConnectAsync(connectionString);
        return (await redis.GetDatabase().HashValuesAsync(settings["Portcullis:Store:KeyPrefix"] + "keyring")).Select(v => (string)v!).ToList();
    }
}
