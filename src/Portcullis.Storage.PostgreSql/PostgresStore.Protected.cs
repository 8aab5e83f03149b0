namespace Portcullis.Storage.PostgreSql;

internal sealed partial class PostgresStore : IProtectedRecordStore
{
    public IAsyncEnumerable<ProtectedValue> ReadProtectedAsync(ProtectedKind kind, CancellationToken cancellationToken) =>
        ProtectedPages.ReadAllAsync(
            after => QueryAsync(
                ProtectedColumns.SelectPage(kind, '@'),
                reader => new ProtectedValue(reader.GetString(0), reader.GetFieldValue<byte[]>(1)),
                cancellationToken,
                Text("after", after), Int("limit", ProtectedPages.Size)),
            cancellationToken);

    public async Task<bool> ReplaceProtectedAsync(ProtectedKind kind, string recordKey, byte[] expected, byte[] replacement, CancellationToken cancellationToken) =>
        await ExecuteAsync(
            ProtectedColumns.Replace(kind, '@'),
            cancellationToken,
            Text("key", recordKey), Bytes("expected", expected), Bytes("replacement", replacement)) == 1;
}
