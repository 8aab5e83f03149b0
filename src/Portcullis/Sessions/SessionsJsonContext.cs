using System.Text.Json.Serialization;

namespace Portcullis.Sessions;

/// <summary>Serialization of the session's encrypted data.</summary>
[JsonSerializable(typeof(SessionData))]
internal sealed partial class SessionsJsonContext : JsonSerializerContext;
