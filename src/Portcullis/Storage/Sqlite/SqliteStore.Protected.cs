namespace Portcullis.Storage.Sqlite;

internal sealed partial class SqliteStore : IProtectedRecordStore
{
    public IAsyncEnumerable<ProtectedValue> ReadProtectedAsync(ProtectedKind kind, CancellationToken cancellationToken)
    {
        var (table, key, column) = ProtectedColumns.Of(kind);
        return ProtectedPages.ReadAllAsync(
            after => QueryAsync(
                $"SELECT {key}, {column} FROM {table} WHERE {key} > $after ORDER BY {key} LIMIT $limit;",
                reader => new ProtectedValue(reader.GetString(0), reader.GetFieldValue<byte[]>(1)),
                cancellationToken,
                ("$after", after),
                ("$limit", ProtectedPages.Size)),
            cancellationToken);
    }

    public async Task<bool> ReplaceProtectedAsync(ProtectedKind kind, string recordKey, byte[] expected, byte[] replacement, CancellationToken cancellationToken)
    {
        var (table, key, column) = ProtectedColumns.Of(kind);
        return await ExecuteAsync(
            $"UPDATE {table} SET {column} = $replacement WHERE {key} = $key AND {column} = $expected;",
            cancellationToken,
            ("$key", recordKey),
            ("$expected", expected),
            ("$replacement", replacement)) == 1;
    }
}
