using Microsoft.Data.Sqlite;

namespace Portcullis.Tests.Infrastructure;

/// <summary>Direct access to a gateway's SQLite file, to play the attacker who can write to the database.</summary>
internal static class SqliteRows
{
    public static async Task<List<object?[]>> QueryAsync(string dataDirectory, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "portcullis.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            reader.GetValues(row!);
            rows.Add(row);
        }

        return rows;
    }

    public static async Task ExecuteAsync(string dataDirectory, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "portcullis.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Every byte the store keeps on disk: the database, its WAL, and the key ring.</summary>
    public static string ReadAllFiles(string dataDirectory) =>
        string.Join('\n', Directory.EnumerateFiles(dataDirectory, "*", SearchOption.AllDirectories)
            .Select(f => System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(f))));
}
