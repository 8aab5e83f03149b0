using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;

namespace Portcullis.Tests.Fapi;

/// <summary>Client signing keys made by a test: an EC P-256 key as a PEM file and an RSA key as a JWK value.</summary>
internal sealed class ClientKeys : IDisposable
{
    public const string CurrentKeyId = "gateway-2026-12";
    public const string NextKeyId = "gateway-2027-01";

    private ClientKeys(string directory, ECDsa current, RSA next)
    {
        Directory = directory;
        Current = current;
        Next = next;
        CurrentPemPath = Path.Combine(directory, "client-signing.pem");
        File.WriteAllText(CurrentPemPath, current.ExportPkcs8PrivateKeyPem());
        var rsa = next.ExportParameters(true);
        NextJwk = new JsonObject
        {
            ["kty"] = "RSA",
            ["n"] = Base64UrlEncoder.Encode(rsa.Modulus),
            ["e"] = Base64UrlEncoder.Encode(rsa.Exponent),
            ["d"] = Base64UrlEncoder.Encode(rsa.D),
            ["p"] = Base64UrlEncoder.Encode(rsa.P),
            ["q"] = Base64UrlEncoder.Encode(rsa.Q),
            ["dp"] = Base64UrlEncoder.Encode(rsa.DP),
            ["dq"] = Base64UrlEncoder.Encode(rsa.DQ),
            ["qi"] = Base64UrlEncoder.Encode(rsa.InverseQ),
        }.ToJsonString();
    }

    public string Directory { get; }

    public ECDsa Current { get; }

    public RSA Next { get; }

    public string CurrentPemPath { get; }

    /// <summary>The next key as a JWK value (as an environment variable would carry it).</summary>
    public string NextJwk { get; }

    public static ClientKeys Create() =>
        new(System.IO.Directory.CreateTempSubdirectory("portcullis-keys-").FullName, ECDsa.Create(ECCurve.NamedCurves.nistP256), RSA.Create(2048));

    /// <summary>Gateway settings for <c>private_key_jwt</c> with both keys; no client secret at all.</summary>
    public void Configure(Dictionary<string, string?> settings, string provider = "main")
    {
        var key = $"Portcullis:Providers:{provider}";
        settings.Remove($"{key}:ClientSecret");
        settings[$"{key}:ClientAuthentication"] = "private_key_jwt";
        settings[$"{key}:ClientSigningKey"] = CurrentPemPath;
        settings[$"{key}:ClientSigningKeyId"] = CurrentKeyId;
        settings[$"{key}:NextClientSigningKey"] = NextJwk;
        settings[$"{key}:NextClientSigningKeyId"] = NextKeyId;
    }

    /// <summary>Registers the provider's client for <c>private_key_jwt</c>, fetching the gateway's keys from its JWKS endpoint.</summary>
    public static void Register(JsonObject idpConfig, int gatewayPort)
    {
        var client = Portcullis.Tests.Infrastructure.TestIdp.Client(idpConfig);
        client.Remove("client_secret");
        client["token_endpoint_auth_method"] = "private_key_jwt";
        client["token_endpoint_auth_signing_alg"] = "ES256";
        client["jwks_uri"] = $"http://localhost:{gatewayPort}/bff/jwks/main";
    }

    public void Dispose()
    {
        Current.Dispose();
        Next.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
