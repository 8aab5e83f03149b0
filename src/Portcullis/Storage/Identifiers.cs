using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;

namespace Portcullis.Storage;

/// <summary>Random identifiers and their one-way hashes (public for store authors: record ids come from here).</summary>
public static class Identifiers
{
    /// <summary>Length of a 256-bit secret encoded as unpadded base64url.</summary>
    public const int SecretLength = 43;

    /// <summary>A random, non-secret record identifier (128 bits).</summary>
    public static string NewId() => WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(16));

    /// <summary>A secret with 256 bits from the CSPRNG (SECURITY.md item 2).</summary>
    public static string NewSecret() => WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// SHA-256 of a high-entropy secret. A fast hash is enough here: with 256 random bits there is nothing to
    /// brute-force, and the store only ever sees this value, so a copy of it gives no usable cookie or state.
    /// </summary>
    public static string Hash(string secret)
    {
        // Every session-carrying request hashes its cookie: the ASCII bytes stay on the stack (one byte per character).
        // (A character outside ASCII, or a surrogate pair, becomes one '?': only the bytes written are hashed.)
        Span<byte> bytes = secret.Length <= 256 ? stackalloc byte[secret.Length] : new byte[secret.Length];
        var written = System.Text.Encoding.ASCII.GetBytes(secret, bytes);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(bytes[..written], hash);
        return WebEncoders.Base64UrlEncode(hash);
    }

    /// <summary>True when <paramref name="value"/> has exactly the shape <see cref="NewSecret"/> produces.</summary>
    public static bool IsWellFormedSecret(string? value) =>
        value is { Length: SecretLength } && !value.AsSpan().ContainsAnyExcept(SecretAlphabet);

    private static readonly System.Buffers.SearchValues<char> SecretAlphabet =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}
