using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Portcullis.Storage;

namespace Portcullis.Agent;

/// <summary>
/// A grant's DPoP key (RFC 9449): an ES256 key made for one login, kept only inside the grant's encrypted token set,
/// that signs a proof for every request presenting the grant's tokens. The private key never leaves the gateway.
/// </summary>
internal sealed class DPoPKey : IDisposable
{
    /// <summary>The proofs' signature algorithm (RFC 9449 §5, FAPI 2.0 allows ES256).</summary>
    public const string Algorithm = SecurityAlgorithms.EcdsaSha256;

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    private readonly ECDsa _key;
    private readonly Dictionary<string, object> _publicJwk;

    private DPoPKey(ECDsa key)
    {
        _key = key;
        var parameters = key.ExportParameters(includePrivateParameters: false);
        _publicJwk = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["kty"] = "EC",
            ["crv"] = "P-256",
            ["x"] = Base64UrlEncoder.Encode(parameters.Q.X),
            ["y"] = Base64UrlEncoder.Encode(parameters.Q.Y),
        };
        // RFC 7638: the required members in lexicographic order, no whitespace.
        var canonical = $"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{_publicJwk["x"]}\",\"y\":\"{_publicJwk["y"]}\"}}";
        Thumbprint = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>The JWK SHA-256 thumbprint, sent as <c>dpop_jkt</c> on the authorization request.</summary>
    public string Thumbprint { get; }

    public static DPoPKey Create() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Reads the private key stored by <see cref="Export"/>.</summary>
    public static DPoPKey Import(string stored)
    {
        var key = ECDsa.Create();
        key.ImportECPrivateKey(Convert.FromBase64String(stored), out _);
        return new DPoPKey(key);
    }

    /// <summary>The private key for the encrypted token set (SEC1 DER, base64); never written anywhere else.</summary>
    public string Export() => Convert.ToBase64String(_key.ExportECPrivateKey());

    /// <summary>
    /// A proof for one request: <c>htm</c>, <c>htu</c> (no query or fragment), <c>iat</c>, a unique <c>jti</c>, and
    /// <c>ath</c> when an access token goes along, <c>nonce</c> when the server asked for one.
    /// </summary>
    public string CreateProof(string method, Uri target, DateTimeOffset now, string? accessToken = null, string? nonce = null)
    {
        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["jti"] = Identifiers.NewSecret(),
            ["htm"] = method.ToUpperInvariant(),
            ["htu"] = target.GetLeftPart(UriPartial.Path),
            ["iat"] = now.ToUnixTimeSeconds(),
        };
        if (accessToken is not null)
        {
            claims["ath"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));
        }

        if (nonce is not null)
        {
            claims["nonce"] = nonce;
        }

        return Handler.CreateToken(JsonSerializer.Serialize(claims), Credentials(), new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["typ"] = "dpop+jwt",
            ["jwk"] = _publicJwk,
        });
    }

    // The library caches signature providers by key identity; a key imported again per request would meet the cached
    // provider of an earlier, disposed instance of the same key. No cache: each proof signs with this instance.
    private SigningCredentials Credentials() =>
        new(new ECDsaSecurityKey(_key), Algorithm) { CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false } };

    public void Dispose() => _key.Dispose();
}
