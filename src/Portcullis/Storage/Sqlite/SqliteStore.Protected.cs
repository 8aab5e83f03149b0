using System.Runtime.CompilerServices;

namespace Portcullis.Storage.Sqlite;

internal sealed partial class SqliteStore : IProtectedRecordStore
{
    private const int ProtectedPage = 500;

    public async IAsyncEnumerable<ProtectedValue> ReadProtectedAsync(ProtectedKind kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (table, key, column) = ProtectedColumns.Of(kind);
        var after = "";
        while (true)
        {
            var page = await QueryAsync(
                $"SELECT {key}, {column} FROM {table} WHERE {key} > $after ORDER BY {key} LIMIT $limit;",
                reader => new ProtectedValue(reader.GetString(0), reader.GetFieldValue<byte[]>(1)),
                cancellationToken,
                ("$after", after),
                ("$limit", ProtectedPage));
            foreach (var value in page)
            {
                yield return value;
            }

            if (page.Count < ProtectedPage)
            {
                yield break;
            }

            after = page[^1].RecordKey;
        }
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
