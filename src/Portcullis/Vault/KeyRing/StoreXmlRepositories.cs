#pragma warning disable RS0030 // moved and fixed on the arch-store branch
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Portcullis.Storage.Postgres;
using Portcullis.Storage.Redis;
using StackExchange.Redis;

namespace Portcullis.Vault.KeyRing;

/// <summary>A key ring every node shares; <see cref="Count"/> lets a node notice keys others added.</summary>
internal interface ISharedKeyRingRepository : IXmlRepository
{
    int Count();
}

/// <summary>The key ring in PostgreSQL's <c>data_protection_keys</c> table (Data Protection's API is synchronous).</summary>
internal sealed class PostgresXmlRepository(PostgresStore store) : ISharedKeyRingRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = store.DataSource.OpenConnection();
        using var command = new Npgsql.NpgsqlCommand("SELECT xml FROM data_protection_keys ORDER BY created_at, name;", connection);
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = store.DataSource.OpenConnection();
        using var command = new Npgsql.NpgsqlCommand(
            "INSERT INTO data_protection_keys (name, xml, created_at) VALUES (@name, @xml, @now) ON CONFLICT (name) DO NOTHING;", connection);
        command.Parameters.AddWithValue("name", friendlyName);
        command.Parameters.AddWithValue("xml", element.ToString(SaveOptions.DisableFormatting));
        command.Parameters.AddWithValue("now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        command.ExecuteNonQuery();
    }

    public int Count()
    {
        using var connection = store.DataSource.OpenConnection();
        using var command = new Npgsql.NpgsqlCommand("SELECT COUNT(*) FROM data_protection_keys;", connection);
        return Convert.ToInt32(command.ExecuteScalar());
    }
}

/// <summary>The key ring in one Redis hash, <c>{prefix}keyring</c>: friendly name → XML.</summary>
internal sealed class RedisXmlRepository(RedisStore store) : ISharedKeyRingRepository
{
    private RedisKey Key => store.Prefix + "keyring";

    private IDatabase Database => store.DatabaseAsync().GetAwaiter().GetResult();

    public IReadOnlyCollection<XElement> GetAllElements() =>
        Database.HashGetAll(Key).OrderBy(e => (string?)e.Name, StringComparer.Ordinal).Select(e => XElement.Parse((string)e.Value!)).ToList();

    public void StoreElement(XElement element, string friendlyName) =>
        Database.HashSet(Key, friendlyName, element.ToString(SaveOptions.DisableFormatting), When.NotExists);

    public int Count() => (int)Database.HashLength(Key);
}

/// <summary>The embedded default: Data Protection's own files in a folder beside the SQLite database.</summary>
internal sealed class DirectoryKeyRingRepository(DirectoryInfo directory, Microsoft.Extensions.Logging.ILoggerFactory loggerFactory) : ISharedKeyRingRepository
{
    private readonly FileSystemXmlRepository _files = new(directory, loggerFactory);

    public IReadOnlyCollection<XElement> GetAllElements() => _files.GetAllElements();

    public void StoreElement(XElement element, string friendlyName) => _files.StoreElement(element, friendlyName);

    public int Count() => directory.Exists ? directory.GetFiles("*.xml").Length : 0;
}
