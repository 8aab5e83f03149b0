using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.DataProtection;

namespace Portcullis.Vault;

/// <summary>
/// Authenticated encryption of one kind of record, bound to the record it belongs to: the record's key is part of
/// the Data Protection purpose chain (and so of the AES-GCM additional data), so a ciphertext copied into another
/// row does not decrypt there (SECURITY.md item 20).
/// <para>
/// Every authenticated request decrypts its session and its grant. A successful decryption is remembered for a few
/// minutes under the record key together with the exact ciphertext, so the same bytes in the same row are not
/// decrypted again: a changed, copied or tampered ciphertext never matches and goes through Data Protection.
/// </para>
/// </summary>
internal sealed class RecordProtector<T>(
    IDataProtectionProvider provider, string purpose, JsonTypeInfo<T> typeInfo, TimeProvider time, KeyRing.KeyRingChangeSignal? keyRingChanged = null)
    where T : class
{
    private const int MemoCapacity = 50_000;
    private static readonly TimeSpan MemoLifetime = TimeSpan.FromMinutes(5);

    private readonly IDataProtector _root = provider.CreateProtector(purpose);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Remembered> _memo = new(StringComparer.Ordinal);

    public byte[] Protect(T value, string recordKey)
    {
        var ciphertext = _root.CreateProtector(recordKey).Protect(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));
        Remember(recordKey, ciphertext, value);
        return ciphertext;
    }

    /// <summary>Null when the ciphertext was tampered with, belongs to another record, or its key is gone.</summary>
    public T? Unprotect(byte[] ciphertext, string recordKey)
    {
        if (_memo.TryGetValue(recordKey, out var remembered) && time.GetElapsedTime(remembered.RememberedAt) < MemoLifetime)
        {
            if (ReferenceEquals(remembered.LastSeen, ciphertext))
            {
                return remembered.Value;
            }

            if (CryptographicOperations.FixedTimeEquals(remembered.Ciphertext, ciphertext))
            {
                // The same bytes in another array (the store's copy of what this node wrote): the next request brings this one.
                _memo[recordKey] = remembered with { LastSeen = ciphertext };
                return remembered.Value;
            }
        }

        var value = Decrypt(ciphertext, recordKey);
        if (value is not null)
        {
            Remember(recordKey, ciphertext, value);
        }

        return value;
    }

    private void Remember(string recordKey, byte[] ciphertext, T value)
    {
        if (_memo.Count >= MemoCapacity)
        {
            _memo.Clear(); // crude but bounded; the next requests simply decrypt again
        }

        _memo[recordKey] = new Remembered((byte[])ciphertext.Clone(), ciphertext, value, time.GetTimestamp());
    }

    private T? Decrypt(byte[] ciphertext, string recordKey)
    {
        try
        {
            return JsonSerializer.Deserialize(_root.CreateProtector(recordKey).Unprotect(ciphertext), typeInfo);
        }
        catch (CryptographicException) when (keyRingChanged is not null)
        {
            // Perhaps another node encrypted this under a key it added a moment ago: reload the shared ring (at most
            // once a second, whatever forged values arrive) and retry once.
            keyRingChanged.TryTrigger();
            return UnprotectOnce(ciphertext, recordKey);
        }
        catch (CryptographicException)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private T? UnprotectOnce(byte[] ciphertext, string recordKey)
    {
        try
        {
            return JsonSerializer.Deserialize(_root.CreateProtector(recordKey).Unprotect(ciphertext), typeInfo);
        }
        catch (CryptographicException)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // RememberedAt is a TimeProvider timestamp: monotonic, so a wall-clock change neither extends nor ends a memo.
    // LastSeen is the array the value was remembered from: the session cache hands the same record, and so the same
    // array, to every request, which then needs no byte-by-byte comparison (issue 18). Records are replaced, never
    // edited in place, so the same array still holds the same bytes; any other array is compared with the private copy.
    private sealed record Remembered(byte[] Ciphertext, byte[] LastSeen, T Value, long RememberedAt);
}
