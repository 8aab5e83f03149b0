using NpgsqlTypes;

namespace Portcullis.Storage.Postgres;

internal sealed partial class PostgresStore : IProtectedRecordStore
{
    public IAsyncEnumerable<ProtectedValue> ReadProtectedAsync(ProtectedKind kind, CancellationToken cancellationToken)
    {
        var (table, key, column) = ProtectedColumns.Of(kind);
        return ProtectedPages.ReadAllAsync(
            after => QueryAsync(
                $"SELECT {key}, {column} FROM {table} WHERE {key} > @after ORDER BY {key} LIMIT @limit;",
                reader => new ProtectedValue(reader.GetString(0), reader.GetFieldValue<byte[]>(1)),
                cancellationToken,
                Text("after", after), Int("limit", ProtectedPages.Size)),
            cancellationToken);
    }

    public async Task<bool> ReplaceProtectedAsync(ProtectedKind kind, string recordKey, byte[] expected, byte[] replacement, CancellationToken cancellationToken)
    {
        var (table, key, column) = ProtectedColumns.Of(kind);
        return await ExecuteAsync(
            $"UPDATE {table} SET {column} = @replacement WHERE {key} = @key AND {column} = @expected;",
            cancellationToken,
            Text("key", recordKey), Bytes("expected", expected), Bytes("replacement", replacement)) == 1;
    }
}
