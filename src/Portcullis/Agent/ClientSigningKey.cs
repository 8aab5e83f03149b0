using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Portcullis.Agent;

/// <summary>
/// One private key of the client for <c>private_key_jwt</c> (RFC 7523), read from a PEM or JWK file or value. The key
/// stays in this object: what leaves it is a signature or the public half (<see cref="PublicJwk"/>).
/// </summary>
internal sealed class ClientSigningKey
{
    private ClientSigningKey(AsymmetricSecurityKey key, string algorithm, Dictionary<string, string> publicJwk)
    {
        SecurityKey = key;
        Algorithm = algorithm;
        PublicJwk = publicJwk;
    }

    /// <summary>The key for <see cref="SigningCredentials"/>, with its <c>kid</c>.</summary>
    public AsymmetricSecurityKey SecurityKey { get; }

    /// <summary>ES256/384/512 for EC keys by curve; PS256 for RSA (FAPI 2.0 allows no RS256).</summary>
    public string Algorithm { get; }

    /// <summary>The public JWK (<c>kty</c>, <c>kid</c>, <c>use</c>, <c>alg</c> and the public parameters only).</summary>
    public IReadOnlyDictionary<string, string> PublicJwk { get; }

    public SigningCredentials Credentials => new(SecurityKey, Algorithm);

    /// <summary>
    /// Reads the key from <paramref name="value"/> (PEM text, JWK JSON, or a path to a file holding either). A failure
    /// returns a reason that never quotes the value: it may be the key itself.
    /// </summary>
    public static (ClientSigningKey? Key, string? Error) Read(string value, string keyId)
    {
        string text;
        var trimmed = value.Trim();
        if (trimmed.StartsWith("-----BEGIN", StringComparison.Ordinal) || trimmed.StartsWith('{'))
        {
            text = trimmed;
        }
        else
        {
            try
            {
                text = File.ReadAllText(trimmed).Trim();
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                return (null, $"is neither a PEM or JWK value nor a readable file ({exception.GetType().Name})");
            }
        }

        try
        {
            return text.StartsWith('{') ? (FromJwk(text, keyId), null) : (FromPem(text, keyId), null);
        }
        catch (Exception exception) when (exception is CryptographicException or ArgumentException or JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            return (null, $"holds no usable private EC or RSA key ({exception.GetType().Name})");
        }
    }

    private static ClientSigningKey FromPem(string pem, string keyId)
    {
        // A PKCS#8 "PRIVATE KEY" may hold either kind: try EC, then RSA.
        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            _ = ec.ExportParameters(includePrivateParameters: true);
            return FromEc(ec, keyId);
        }
        catch (Exception exception) when (exception is CryptographicException or ArgumentException)
        {
            ec.Dispose();
        }

        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            _ = rsa.ExportParameters(includePrivateParameters: true);
            return FromRsa(rsa, keyId);
        }
        catch
        {
            rsa.Dispose();
            throw;
        }
    }

    private static ClientSigningKey FromJwk(string json, string keyId)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        string Get(string name) => root.GetProperty(name).GetString() ?? throw new FormatException($"JWK member {name} is not a string");
        byte[] Bytes(string name) => Base64UrlEncoder.DecodeBytes(Get(name));
        switch (Get("kty"))
        {
            case "EC":
                var curve = Get("crv") switch
                {
                    "P-256" => ECCurve.NamedCurves.nistP256,
                    "P-384" => ECCurve.NamedCurves.nistP384,
                    "P-521" => ECCurve.NamedCurves.nistP521,
                    _ => throw new FormatException("unsupported curve"),
                };
                return FromEc(ECDsa.Create(new ECParameters { Curve = curve, D = Bytes("d"), Q = new ECPoint { X = Bytes("x"), Y = Bytes("y") } }), keyId);
            case "RSA":
                var rsa = RSA.Create();
                rsa.ImportParameters(new RSAParameters
                {
                    Modulus = Bytes("n"),
                    Exponent = Bytes("e"),
                    D = Bytes("d"),
                    P = Bytes("p"),
                    Q = Bytes("q"),
                    DP = Bytes("dp"),
                    DQ = Bytes("dq"),
                    InverseQ = Bytes("qi"),
                });
                return FromRsa(rsa, keyId);
            default:
                throw new FormatException("unsupported kty");
        }
    }

    private static ClientSigningKey FromEc(ECDsa ec, string keyId)
    {
        var parameters = ec.ExportParameters(includePrivateParameters: false);
        var (crv, algorithm) = ec.KeySize switch
        {
            256 => ("P-256", SecurityAlgorithms.EcdsaSha256),
            384 => ("P-384", SecurityAlgorithms.EcdsaSha384),
            521 => ("P-521", SecurityAlgorithms.EcdsaSha512),
            _ => throw new FormatException("unsupported curve"),
        };
        var jwk = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["kty"] = "EC",
            ["crv"] = crv,
            ["x"] = Base64UrlEncoder.Encode(parameters.Q.X),
            ["y"] = Base64UrlEncoder.Encode(parameters.Q.Y),
        };
        return new ClientSigningKey(new ECDsaSecurityKey(ec) { KeyId = keyId }, algorithm, Describe(jwk, keyId, algorithm));
    }

    private static ClientSigningKey FromRsa(RSA rsa, string keyId)
    {
        if (rsa.KeySize < 2048)
        {
            throw new FormatException("RSA keys shorter than 2048 bits are refused");
        }

        var parameters = rsa.ExportParameters(includePrivateParameters: false);
        var jwk = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["kty"] = "RSA",
            ["n"] = Base64UrlEncoder.Encode(parameters.Modulus),
            ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
        };
        return new ClientSigningKey(new RsaSecurityKey(rsa) { KeyId = keyId }, SecurityAlgorithms.RsaSsaPssSha256, Describe(jwk, keyId, SecurityAlgorithms.RsaSsaPssSha256));
    }

    private static Dictionary<string, string> Describe(Dictionary<string, string> jwk, string keyId, string algorithm)
    {
        jwk["kid"] = keyId;
        jwk["use"] = "sig";
        jwk["alg"] = algorithm;
        return jwk;
    }
}
