using System.Text.Json.Serialization;

namespace Portcullis.Agent;

/// <summary>Serialization of the login transaction, encrypted by the vault while the browser is at the provider.</summary>
[JsonSerializable(typeof(LoginTransactionData))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
