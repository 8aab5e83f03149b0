using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace Portcullis.Agent;

/// <summary>RFC 7636 §4.2: <c>code_challenge = BASE64URL(SHA256(ASCII(code_verifier)))</c>, method S256 only.</summary>
internal static class Pkce
{
    public const string Method = "S256";

    public static string Challenge(string verifier) =>
        WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
}
