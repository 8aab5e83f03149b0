using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Data.Sqlite;

namespace Portcullis.Bench.Phases;

/// <summary>
/// Fills a gateway's SQLite store with other people's sessions: rows of the real <c>sessions</c> schema with random keys
/// and handles (shaped like the real ones: base64url of 32 and 16 random bytes) and random data blobs as long as the real
/// session's ciphertext, alive for the whole run. Nothing decrypts them; they are there to make the table and its
/// indexes as large as 100,000 signed-in users would.
/// </summary>
internal static class SessionFiller
{
    public static async Task<int> FillAsync(string databasePath, int count)
    {
        await using var connection = new SqliteConnection($"Data Source={databasePath};Pooling=False");
        await connection.OpenAsync();
        var dataLength = Convert.ToInt32(await ScalarAsync(connection, "SELECT MAX(length(data)) FROM sessions;"));
        if (dataLength <= 0)
        {
            throw new InvalidOperationException("The store has no real session to model the filler on: log in first.");
        }

        var now = DateTimeOffset.UtcNow;
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO sessions (key, handle, user_id, grant_id, provider, provider_sid, data, created_at, last_seen_at, idle_expires_at, absolute_expires_at)
            VALUES ($key, $handle, $user, $grant, 'main', $sid, $data, $created, $seen, $idle, $absolute);
            """;
        var parameters = new[] { "$key", "$handle", "$user", "$grant", "$sid", "$data", "$created", "$seen", "$idle", "$absolute" }
            .ToDictionary(name => name, name => insert.Parameters.Add(new SqliteParameter { ParameterName = name }));
        insert.Prepare();
        for (var i = 0; i < count; i++)
        {
            parameters["$key"].Value = Random(32);
            parameters["$handle"].Value = Random(16);
            parameters["$user"].Value = Random(16);
            parameters["$grant"].Value = Random(16);
            parameters["$sid"].Value = Random(16);
            parameters["$data"].Value = RandomNumberGenerator.GetBytes(dataLength);
            parameters["$created"].Value = now.ToUnixTimeMilliseconds();
            parameters["$seen"].Value = now.ToUnixTimeMilliseconds();
            // Alive (not swept by the cleanup job) for longer than any run.
            parameters["$idle"].Value = now.AddHours(6).ToUnixTimeMilliseconds();
            parameters["$absolute"].Value = now.AddHours(12).ToUnixTimeMilliseconds();
            await insert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return Convert.ToInt32(await ScalarAsync(connection, "SELECT COUNT(*) FROM sessions;"));
    }

    private static string Random(int bytes) => WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(bytes));

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
