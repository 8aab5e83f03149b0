using System.Runtime.CompilerServices;
using StackExchange.Redis;

namespace Portcullis.Storage.Redis;

internal sealed partial class RedisStore : IProtectedRecordStore
{
    private const string ReplaceIfUnchanged = """
        if redis.call('HGET', KEYS[1], ARGV[2]) ~= ARGV[3] then return 0 end
        redis.call('HSET', KEYS[1], ARGV[2], ARGV[4])
        return 1
        """;

    public async IAsyncEnumerable<ProtectedValue> ReadProtectedAsync(ProtectedKind kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (index, hash, field) = Layout(kind);
        var database = await DatabaseAsync();
        var members = kind == ProtectedKind.GrantTokens
            ? database.SetScanAsync(Key(index), pageSize: CleanupBatch)
            : database.SortedSetScanAsync(Key(index), pageSize: CleanupBatch).Select(entry => entry.Element);
        await foreach (var member in members.WithCancellation(cancellationToken))
        {
            var value = await database.HashGetAsync(Key(hash, (string)member!), field);
            if (!value.IsNull)
            {
                yield return new ProtectedValue((string)member!, (byte[])value!);
            }
        }
    }

    public async Task<bool> ReplaceProtectedAsync(ProtectedKind kind, string recordKey, byte[] expected, byte[] replacement, CancellationToken cancellationToken)
    {
        var (_, hash, field) = Layout(kind);
        return (int)await EvalAsync(ReplaceIfUnchanged, [Key(hash, recordKey)], field, expected, replacement) == 1;
    }

    /// <summary>The index listing every record of the kind, the record's hash prefix and its ciphertext field.</summary>
    private static (string Index, string Hash, string Field) Layout(ProtectedKind kind) => kind switch
    {
        ProtectedKind.GrantTokens => ("grants", "grant:", "tokens"),
        ProtectedKind.SessionData => ("sessions-by-expiry", "session:", "data"),
        ProtectedKind.LoginTransaction => ("logins-by-expiry", "login:", "data"),
        ProtectedKind.PendingRevocation => ("revocations-due", "revocation:", "token"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
