using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Portcullis.Agent;
using Portcullis.Http;
using Portcullis.Primitives;

namespace Portcullis.Endpoints;

/// <summary>
/// <c>GET /bff/jwks/{provider}</c>: the public keys of the client's <c>private_key_jwt</c> keys for one provider, as a JWK
/// set a provider can fetch through the client's registered <c>jwks_uri</c>. Public by nature; no private member is ever
/// written (the keys' public JWKs are built from public parameters only).
/// </summary>
internal static class JwksEndpoint
{
    public static IResult Get(string provider, ProviderRegistry providers)
    {
        if (providers.Find(provider) is not { ClientAssertions: { } assertions })
        {
            return ErrorResponses.Json(new PortcullisError(404, "not_found", "This provider has no client signing keys."));
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("keys");
            foreach (var jwk in assertions.PublicKeys)
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
