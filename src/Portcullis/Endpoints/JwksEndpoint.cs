using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Portcullis.Agent;
using Portcullis.Http;
using Portcullis.Primitives;
using Portcullis.Proxy;

namespace Portcullis.Endpoints;

/// <summary>
/// The gateway's public keys as JWK sets. Public by nature; no private member is ever written (the keys' public JWKs are
/// built from public parameters only), and no CSRF header is needed: servers fetch them.
/// </summary>
internal static class JwksEndpoint
{
    /// <summary>
    /// <c>GET /bff/jwks/{provider}</c>: the client's <c>private_key_jwt</c> keys for one provider, fetched by the provider
    /// through the client's registered <c>jwks_uri</c>.
    /// </summary>
    public static IResult Get(string provider, ProviderRegistry providers) =>
        providers.Find(provider) is { ClientAssertions: { } assertions }
            ? Set(assertions.PublicKeys)
            : ErrorResponses.Json(new PortcullisError(404, "not_found", "This provider has no client signing keys."));

    /// <summary><c>GET /.well-known/portcullis/jwks</c>: the keys that sign <c>Token: assertion</c> routes' assertions (ADR 0041).</summary>
    public static IResult GetAssertionKeys(IdentityAssertions assertions) =>
        assertions.PublicKeys is { Count: > 0 } keys
            ? Set(keys)
            : ErrorResponses.Json(new PortcullisError(404, "not_found", "This gateway signs no identity assertions."));

    private static IResult Set(IEnumerable<IReadOnlyDictionary<string, string>> keys)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("keys");
            foreach (var jwk in keys)
            {
                writer.WriteStartObject();
                foreach (var (name, value) in jwk)
                {
                    writer.WriteString(name, value);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Results.Bytes(buffer.ToArray(), "application/jwk-set+json");
    }
}
