using System.Text.Json.Serialization;

namespace Portcullis.Vault;

/// <summary>Serialization of the token set the vault encrypts. Each floor keeps the JSON context of its own records
/// (sessions, login transactions, pending revocations), so the vault never names the types of the floors above it.</summary>
[JsonSerializable(typeof(TokenSet))]
internal sealed partial class VaultJsonContext : JsonSerializerContext;
