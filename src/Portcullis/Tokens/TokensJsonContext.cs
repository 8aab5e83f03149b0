using System.Text.Json.Serialization;

namespace Portcullis.Tokens;

/// <summary>Serialization of a refresh token waiting in the revocation outbox (encrypted by the vault).</summary>
[JsonSerializable(typeof(PendingToken))]
internal sealed partial class TokensJsonContext : JsonSerializerContext;
