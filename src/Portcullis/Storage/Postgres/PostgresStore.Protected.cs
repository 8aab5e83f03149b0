using System.Runtime.CompilerServices;
using NpgsqlTypes;

namespace Portcullis.Storage.Postgres;

internal sealed partial class PostgresStore : IProtectedRecordStore
{
    private const int ProtectedPage = 500;

    public async IAsyncEnumerable<ProtectedValue> ReadProtectedAsync(ProtectedKind kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (table, key, column) = ProtectedColumns.Of(kind);
        var after = "";
        while (true)
        {
            var page = await QueryAsync(
                $"SELECT {key}, {column} FROM {table} WHERE {key} > @after ORDER BY {key} LIMIT @limit;",
                reader => new ProtectedValue(reader.GetString(0), reader.GetFieldValue<byte[]>(1)),
                cancellationToken,
                Text("after", after), Int("limit", ProtectedPage));
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
            $"UPDATE {table} SET {column} = @replacement WHERE {key} = @key AND {column} = @expected;",
            cancellationToken,
            Text("key", recordKey), Bytes("expected", expected), Bytes("replacement", replacement)) == 1;
    }
}
