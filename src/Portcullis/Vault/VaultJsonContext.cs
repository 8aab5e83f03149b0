using System.Text.Json.Serialization;
using Portcullis.Agent;
using Portcullis.Sessions;
using Portcullis.Tokens;

namespace Portcullis.Vault;

[JsonSerializable(typeof(TokenSet))]
[JsonSerializable(typeof(SessionData))]
[JsonSerializable(typeof(LoginTransactionData))]
[JsonSerializable(typeof(PendingToken))]
internal sealed partial class VaultJsonContext : JsonSerializerContext;
