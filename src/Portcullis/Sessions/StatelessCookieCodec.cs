using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Portcullis.Vault;

namespace Portcullis.Sessions;

/// <summary>
/// Stateless cookies (ADR 0033): a value is sealed with the key ring (AES-256-GCM, Data Protection) under a purpose that
/// ends with the cookie's own name, so a value moved to another cookie, or a value of another purpose (a session cookie
/// of server mode, a login transaction), does not open. A value too large for one cookie is split by ASP.NET Core's
/// <see cref="ChunkingCookieManager"/> (<c>name</c> = <c>chunks-N</c>, then <c>nameC1</c>…); the seal covers the whole
/// value, so dropping, reordering or swapping a chunk is refused like any other change.
/// </summary>
internal sealed class StatelessCookieCodec(IDataProtectionProvider dataProtection)
{
    /// <summary>Most characters of one <c>Set-Cookie</c> value, attributes included: under the 4096 every browser keeps.</summary>
    public const int ChunkSize = 4000;

    private readonly IDataProtector _root = dataProtection.CreateProtector(ProtectionPurposes.StatelessCookie);
    private readonly ChunkingCookieManager _cookies = new() { ChunkSize = ChunkSize, ThrowForPartialCookies = false };

    public string Seal<T>(string cookieName, T value, JsonTypeInfo<T> typeInfo) =>
        WebEncoders.Base64UrlEncode(_root.CreateProtector(cookieName).Protect(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo)));

    /// <summary>Null when the value is absent, malformed, changed, sealed for another cookie, or its key is gone.</summary>
    public T? Open<T>(string cookieName, string? sealedValue, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (string.IsNullOrEmpty(sealedValue))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(_root.CreateProtector(cookieName).Unprotect(WebEncoders.Base64UrlDecode(sealedValue)), typeInfo);
        }
        catch (FormatException)
        {
            return null;
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

    /// <summary>Writes a sealed value, in chunks when it is large.</summary>
    public void Append(HttpContext context, string cookieName, string sealedValue, CookieOptions options) =>
        _cookies.AppendResponseCookie(context, cookieName, sealedValue, options);

    /// <summary>The sealed value reassembled from its chunks; null when absent or a chunk is missing.</summary>
    public string? Read(HttpContext context, string cookieName) => _cookies.GetRequestCookie(context, cookieName);

    /// <summary>Expires the cookie and every chunk of it the request carried.</summary>
    public void Delete(HttpContext context, string cookieName, CookieOptions options) =>
        _cookies.DeleteCookie(context, cookieName, options);
}
