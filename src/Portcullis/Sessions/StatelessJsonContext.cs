using System.Text.Json.Serialization;

namespace Portcullis.Sessions;

/// <summary>Serialization of what stateless cookies carry (ADR 0033).</summary>
[JsonSerializable(typeof(StatelessSessionPayload))]
[JsonSerializable(typeof(StatelessRefreshPayload))]
[JsonSerializable(typeof(StatelessRefreshResult))]
[JsonSerializable(typeof(Storage.LoginTransactionRecord))]
internal sealed partial class StatelessJsonContext : JsonSerializerContext;
