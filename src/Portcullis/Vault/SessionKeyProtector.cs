using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Portcullis.Vault;

/// <summary>
/// Split-key encryption of one kind of record (ADR 0032): AES-256-GCM under a key that belongs to one session and lives
/// only in that session's cookie, so neither the store nor the server's key ring can open it. The additional data binds
/// the ciphertext to its purpose and its record, as <see cref="RecordProtector{T}"/> does with the key ring: bytes
/// copied into another row, or into a record of another kind, do not decrypt there.
/// <para>
/// Nothing is remembered between calls (unlike <see cref="RecordProtector{T}"/>'s memo, which compares only the
/// ciphertext): the key is what is being checked, so every call proves it again. One AES-GCM pass over a few kilobytes
/// costs microseconds.
/// </para>
/// </summary>
internal sealed class SessionKeyProtector<T>(string purpose, JsonTypeInfo<T> typeInfo)
    where T : class
{
    /// <summary>Bytes of a session's data key (256 bits from the CSPRNG).</summary>
    public const int KeySize = 32;

    // Layout: version (1) | nonce (12) | ciphertext | tag (16). The version lets the layout change without guessing.
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int Overhead = 1 + NonceSize + TagSize;

    /// <summary>A new data key for one session.</summary>
    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(KeySize);

    public byte[] Protect(T value, string recordKey, ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"A session data key has {KeySize} bytes.", nameof(key));
        }

        var plaintext = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        var sealedRecord = new byte[Overhead + plaintext.Length];
        sealedRecord[0] = Version;
        var nonce = sealedRecord.AsSpan(1, NonceSize);
        // A random nonce per write: a session is written a few thousand times at most, far from GCM's 2^32 limit.
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plaintext, sealedRecord.AsSpan(1 + NonceSize, plaintext.Length), sealedRecord.AsSpan(1 + NonceSize + plaintext.Length), AdditionalData(recordKey));
        CryptographicOperations.ZeroMemory(plaintext);
        return sealedRecord;
    }

    /// <summary>Null when the key is wrong, short or missing, the bytes were changed, or they belong to another record or purpose.</summary>
    public T? Unprotect(ReadOnlySpan<byte> sealedRecord, string recordKey, ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize || sealedRecord.Length < Overhead || sealedRecord[0] != Version)
        {
            return null;
        }

        var length = sealedRecord.Length - Overhead;
        var plaintext = new byte[length];
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(sealedRecord.Slice(1, NonceSize), sealedRecord.Slice(1 + NonceSize, length), sealedRecord[^TagSize..], plaintext, AdditionalData(recordKey));
            return JsonSerializer.Deserialize(plaintext, typeInfo);
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Purpose and record, length-prefixed so no two different pairs give the same bytes.</summary>
    private byte[] AdditionalData(string recordKey)
    {
        var purposeBytes = Encoding.UTF8.GetBytes(purpose);
        var recordBytes = Encoding.UTF8.GetBytes(recordKey);
        var data = new byte[4 + purposeBytes.Length + recordBytes.Length];
        BinaryPrimitives.WriteInt32BigEndian(data, purposeBytes.Length);
        purposeBytes.CopyTo(data, 4);
        recordBytes.CopyTo(data, 4 + purposeBytes.Length);
        return data;
    }
}
