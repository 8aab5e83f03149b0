namespace Portcullis.Storage;

/// <summary>The kinds of stored value that are Data Protection ciphertext, each bound to its row's key.</summary>
internal enum ProtectedKind
{
    GrantTokens,
    SessionData,
    LoginTransaction,
    PendingRevocation,
}

/// <summary>One stored ciphertext and the key of the row it belongs to (and is bound to).</summary>
internal sealed record ProtectedValue(string RecordKey, byte[] Ciphertext);

/// <summary>
/// Raw access to the encrypted columns, for <c>reencrypt</c>: read them all, and replace one only if it still holds
/// the ciphertext that was read (so a refresh or login writing meanwhile is never overwritten with older data).
/// </summary>
internal interface IProtectedRecordStore
{
    IAsyncEnumerable<ProtectedValue> ReadProtectedAsync(ProtectedKind kind, CancellationToken cancellationToken);

    Task<bool> ReplaceProtectedAsync(ProtectedKind kind, string recordKey, byte[] expected, byte[] replacement, CancellationToken cancellationToken);
}

internal static class ProtectedColumns
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
}

/// <summary>Keyset paging over the SQL stores' encrypted columns, so <c>reencrypt</c> never holds a whole table in memory.</summary>
internal static class ProtectedPages
{
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
