using System.Xml.Linq;

namespace Portcullis.Storage.PostgreSql;

/// <summary>The key ring in PostgreSQL's <c>data_protection_keys</c> table (Data Protection's API is synchronous).</summary>
internal sealed class PostgresXmlRepository(PostgresStore store, TimeProvider time) : ISharedKeyRingRepository
{
    public IReadOnlyCollection<XElement> GetAllElements() => GetAllEntries().Select(e => XElement.Parse(e.Xml)).ToList();

    public IReadOnlyList<KeyRingEntry> GetAllEntries()
    {
        using var connection = store.DataSource.OpenConnection();
        using var command = new Npgsql.NpgsqlCommand("SELECT name, xml FROM data_protection_keys ORDER BY created_at, name;", connection);
        using var reader = command.ExecuteReader();
        var entries = new List<KeyRingEntry>();
        while (reader.Read())
        {
            entries.Add(new KeyRingEntry(reader.GetString(0), reader.GetString(1)));
        }

        return entries;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = store.DataSource.OpenConnection();
        using var command = new Npgsql.NpgsqlCommand(
            "INSERT INTO data_protection_keys (name, xml, created_at) VALUES (@name, @xml, @now) ON CONFLICT (name) DO NOTHING;", connection);
        command.Parameters.AddWithValue("name", friendlyName);
        command.Parameters.AddWithValue("xml", element.ToString(SaveOptions.DisableFormatting));
        command.Parameters.AddWithValue("now", time.GetUtcNow().ToUnixTimeMilliseconds());
        command.ExecuteNonQuery();
    }

    public void ReplaceElement(string friendlyName, string xml)
    {
        using var connection = store.DataSource.OpenConnection();
        using var command = new Npgsql.NpgsqlCommand("UPDATE data_protection_keys SET xml = @xml WHERE name = @name;", connection);
        command.Parameters.AddWithValue("name", friendlyName);
        command.Parameters.AddWithValue("xml", xml);
        command.ExecuteNonQuery();
    }

    public int Count()
    {
        using var connection = store.DataSource.OpenConnection();
        using var command = new Npgsql.NpgsqlCommand("SELECT COUNT(*) FROM data_protection_keys;", connection);
        return Convert.ToInt32(command.ExecuteScalar());
    }
}
