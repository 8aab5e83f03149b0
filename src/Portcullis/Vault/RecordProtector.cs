using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.DataProtection;

namespace Portcullis.Vault;

/// <summary>
/// Authenticated encryption of one kind of record, bound to the record it belongs to: the record's key is part of
/// the Data Protection purpose chain (and so of the AES-GCM additional data), so a ciphertext copied into another
/// row does not decrypt there (SECURITY.md item 20).
/// </summary>
internal sealed class RecordProtector<T>(
    IDataProtectionProvider provider, string purpose, JsonTypeInfo<T> typeInfo, KeyRing.KeyRingChangeSignal? keyRingChanged = null)
    where T : class
{
    private readonly IDataProtector _root = provider.CreateProtector(purpose);

    public byte[] Protect(T value, string recordKey) =>
        _root.CreateProtector(recordKey).Protect(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));

    /// <summary>Null when the ciphertext was tampered with, belongs to another record, or its key is gone.</summary>
    public T? Unprotect(byte[] ciphertext, string recordKey)
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
}
