using System.Text.Json;

namespace Portcullis.Sessions;

/// <summary>What a session remembers about its user; stored encrypted and bound to the session's key.</summary>
internal sealed record SessionData(string Subject, Dictionary<string, JsonElement> Claims, string? UserAgent);
