using System.Text.Json.Serialization;
using Portcullis.Agent;
using Portcullis.Sessions;

namespace Portcullis.Vault;

[JsonSerializable(typeof(TokenSet))]
[JsonSerializable(typeof(SessionData))]
[JsonSerializable(typeof(LoginTransactionData))]
internal sealed partial class VaultJsonContext : JsonSerializerContext;
