using System.Security.Cryptography;

namespace Portcullis.Vault.KeyRing;

/// <summary>
/// AES-256-GCM under the configured master key, for the Data Protection keys at rest. A sealed value is
/// <c>key-id (4) | nonce (12) | tag (16) | ciphertext</c>; the key id (a hash prefix of the master key) says which of
/// the current and previous master keys opens it, so the master key itself can be rotated.
/// </summary>
internal sealed class MasterKey
{
    private const int IdSize = 4;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly byte[] _current;
    private readonly IReadOnlyList<byte[]> _all;

    public MasterKey(byte[] current, IEnumerable<byte[]> previous)
    {
        _current = current;
        _all = [current, .. previous];
    }

    /// <summary>Generates a master key: base64 of 32 random bytes, the form <c>KeyProtection:MasterKey</c> takes.</summary>
    public static string Generate() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static byte[]? TryDecode(string? base64)
    {
        try
        {
            var bytes = Convert.FromBase64String(base64 ?? "");
            return bytes.Length == 32 ? bytes : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// A key of 32 bytes derived from each configured master key for <paramref name="purpose"/> (HKDF-SHA256, RFC 5869,
    /// the purpose as its info), the current one first: a use of its own never touches the master key itself, and a
    /// value keyed under a previous master key can still be recognised after a rotation.
    /// </summary>
    public IReadOnlyList<byte[]> Derive(string purpose) =>
        [.. _all.Select(key => HKDF.DeriveKey(HashAlgorithmName.SHA256, key, 32, info: System.Text.Encoding.UTF8.GetBytes(purpose)))];

    public byte[] Seal(byte[] plaintext) => Seal(plaintext, AssociatedData);

    public byte[] Open(byte[] sealedValue) => Open(sealedValue, AssociatedData);

    /// <summary>Seals under the current master key; <paramref name="associatedData"/> binds the value to its use.</summary>
    public byte[] Seal(byte[] plaintext, byte[] associatedData)
    {
        var sealedValue = new byte[IdSize + NonceSize + TagSize + plaintext.Length];
        Id(_current).CopyTo(sealedValue, 0);
        var nonce = sealedValue.AsSpan(IdSize, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_current, TagSize);
        aes.Encrypt(nonce, plaintext, sealedValue.AsSpan(IdSize + NonceSize + TagSize), sealedValue.AsSpan(IdSize + NonceSize, TagSize), associatedData);
        return sealedValue;
    }

    /// <summary>Opens a value sealed under the current or a previous master key; throws <see cref="CryptographicException"/> otherwise.</summary>
    public byte[] Open(byte[] sealedValue, byte[] associatedData)
    {
        if (sealedValue.Length < IdSize + NonceSize + TagSize)
        {
            throw new CryptographicException("The protected key is truncated.");
        }

        var key = _all.FirstOrDefault(k => Id(k).AsSpan().SequenceEqual(sealedValue.AsSpan(0, IdSize)))
            ?? throw new CryptographicException("The key ring was encrypted with a master key that is not configured (KeyProtection:MasterKey / PreviousMasterKeys).");
        var plaintext = new byte[sealedValue.Length - IdSize - NonceSize - TagSize];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(sealedValue.AsSpan(IdSize, NonceSize), sealedValue.AsSpan(IdSize + NonceSize + TagSize), sealedValue.AsSpan(IdSize + NonceSize, TagSize), plaintext, associatedData);
        return plaintext;
    }

    // Binds the ciphertext to its use, so a value sealed for something else under the same key does not open here.
    private static readonly byte[] AssociatedData = "Portcullis.KeyRing.v1"u8.ToArray();

    private static byte[] Id(byte[] key) => SHA256.HashData(key)[..IdSize];
}
