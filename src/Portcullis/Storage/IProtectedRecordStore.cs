namespace Portcullis.Storage;

/// <summary>The kinds of stored value that are Data Protection ciphertext, each bound to its row's key.</summary>
public enum ProtectedKind
{
    /// <summary><see cref="GrantRecord.Tokens"/>.</summary>
    GrantTokens,

    /// <summary><see cref="SessionRecord.Data"/>.</summary>
    SessionData,

    /// <summary><see cref="LoginTransactionRecord.Data"/>.</summary>
    LoginTransaction,

    /// <summary><see cref="PendingRevocationRecord.Token"/>.</summary>
    PendingRevocation,
}

/// <summary>One stored ciphertext and the key of the row it belongs to (and is bound to).</summary>
public sealed record ProtectedValue(string RecordKey, byte[] Ciphertext);

/// <summary>
/// Raw access to the encrypted columns, for <c>reencrypt</c>: read them all, and replace one only if it still holds
/// the ciphertext that was read (so a refresh or login writing meanwhile is never overwritten with older data).
/// </summary>
/// <remarks>A backend implements it on its store object; <c>reencrypt</c> refuses a store without it.</remarks>
public interface IProtectedRecordStore
{
    /// <summary>Every stored ciphertext of <paramref name="kind"/>, streamed.</summary>
    IAsyncEnumerable<ProtectedValue> ReadProtectedAsync(ProtectedKind kind, CancellationToken cancellationToken);

    /// <summary>Replaces the ciphertext of one record if it still is <paramref name="expected"/>; false when it changed meanwhile.</summary>
    Task<bool> ReplaceProtectedAsync(ProtectedKind kind, string recordKey, byte[] expected, byte[] replacement, CancellationToken cancellationToken);
}

/// <summary>Where the SQL stores keep each kind of ciphertext, and the two statements <c>reencrypt</c> needs over it.</summary>
public static class ProtectedColumns
{
    /// <summary>Table, key column and ciphertext column of each kind in the SQL stores.</summary>
    public static (string Table, string Key, string Column) Of(ProtectedKind kind) => kind switch
    {
        ProtectedKind.GrantTokens => ("grants", "id", "tokens"),
        ProtectedKind.SessionData => ("sessions", "key", "data"),
        ProtectedKind.LoginTransaction => ("login_transactions", "key", "data"),
        ProtectedKind.PendingRevocation => ("pending_revocations", "id", "token"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>
    /// One keyset page of <paramref name="kind"/>'s ciphertexts, in key order, with the parameters <c>after</c> and
    /// <c>limit</c> written with the driver's <paramref name="parameterPrefix"/> (<c>$</c> for SQLite, <c>@</c> for Npgsql).
    /// </summary>
    public static string SelectPage(ProtectedKind kind, char parameterPrefix)
    {
        var (table, key, column) = Of(kind);
        var p = parameterPrefix;
        return $"SELECT {key}, {column} FROM {table} WHERE {key} > {p}after ORDER BY {key} LIMIT {p}limit;";
    }

    /// <summary>The compare-and-set of one ciphertext, with the parameters <c>key</c>, <c>expected</c> and <c>replacement</c>.</summary>
    public static string Replace(ProtectedKind kind, char parameterPrefix)
    {
        var (table, key, column) = Of(kind);
        var p = parameterPrefix;
        return $"UPDATE {table} SET {column} = {p}replacement WHERE {key} = {p}key AND {column} = {p}expected;";
    }
}

/// <summary>Keyset paging over the SQL stores' encrypted columns, so <c>reencrypt</c> never holds a whole table in memory.</summary>
public static class ProtectedPages
{
    /// <summary>How many values one page holds.</summary>
    public const int Size = 500;

    /// <summary>Every value in key order; <paramref name="readPage"/> returns up to <see cref="Size"/> values whose key sorts after the given one.</summary>
    public static async IAsyncEnumerable<ProtectedValue> ReadAllAsync(
        Func<string, Task<IReadOnlyList<ProtectedValue>>> readPage,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var after = "";
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await readPage(after);
            foreach (var value in page)
            {
                yield return value;
            }

            if (page.Count < Size)
            {
                yield break;
            }

            after = page[^1].RecordKey;
        }
    }
}
