using System.Buffers;
using System.Buffers.Text;
using Microsoft.AspNetCore.WebUtilities;
using Portcullis.Storage;
using Portcullis.Vault;

namespace Portcullis.Sessions;

/// <summary>
/// The split-key session cookie's value (ADR 0032): <c>{session id}.{data key}</c>, both 256 bits in unpadded base64url
/// (87 characters). The store keeps only the id's hash; the key never leaves the cookie and this request's memory.
/// Anything but this exact shape (truncated key, missing key, padding, extra parts) is refused before the store is read.
/// </summary>
internal readonly record struct SplitKeyCookieValue(string SessionId, byte[] DataKey)
{
    private const char Separator = '.';

    /// <summary>Length of the whole value: two 43-character secrets and the separator.</summary>
    public const int Length = Identifiers.SecretLength * 2 + 1;

    public static SplitKeyCookieValue New() => new(Identifiers.NewSecret(), SessionKeyProtector<object>.NewKey());

    public string Format() => SessionId + Separator + WebEncoders.Base64UrlEncode(DataKey);

    public static bool TryParse(string? value, out SplitKeyCookieValue parsed)
    {
        parsed = default;
        if (value is not { Length: Length } || value[Identifiers.SecretLength] != Separator)
        {
            return false;
        }

        var id = value[..Identifiers.SecretLength];
        var key = value[(Identifiers.SecretLength + 1)..];
        // Both halves have the shape of a 256-bit secret; the key is decoded only then.
        if (!Identifiers.IsWellFormedSecret(id) || !Identifiers.IsWellFormedSecret(key))
        {
            return false;
        }

        // 43 characters carry 258 bits: a last character with its two spare bits set spells no key. The decoders that
        // throw (TryDecodeFromChars too) would turn such a forged cookie into a 500; this one reports it, and each key
        // has exactly one spelling.
        var bytes = new byte[SessionKeyProtector<object>.KeySize];
        if (Base64Url.DecodeFromChars(key, bytes, out _, out var written) != OperationStatus.Done || written != bytes.Length)
        {
            return false;
        }

        parsed = new SplitKeyCookieValue(id, bytes);
        return true;
    }
}
