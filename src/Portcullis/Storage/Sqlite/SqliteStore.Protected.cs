namespace Portcullis.Storage.Sqlite;

internal sealed partial class SqliteStore : IProtectedRecordStore
{
    public IAsyncEnumerable<ProtectedValue> ReadProtectedAsync(ProtectedKind kind, CancellationToken cancellationToken) =>
        ProtectedPages.ReadAllAsync(
            after => QueryAsync(
                ProtectedColumns.SelectPage(kind, '$'),
                reader => new ProtectedValue(reader.GetString(0), reader.GetFieldValue<byte[]>(1)),
                cancellationToken,
                ("$after", after),
                ("$limit", ProtectedPages.Size)),
            cancellationToken);

    public async Task<bool> ReplaceProtectedAsync(ProtectedKind kind, string recordKey, byte[] expected, byte[] replacement, CancellationToken cancellationToken) =>
        await ExecuteAsync(
            ProtectedColumns.Replace(kind, '$'),
            cancellationToken,
            ("$key", recordKey),
            ("$expected", expected),
            ("$replacement", replacement)) == 1;
}
