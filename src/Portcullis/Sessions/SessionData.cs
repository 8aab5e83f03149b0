using System.Text.Json;

namespace Portcullis.Sessions;

/// <summary>
/// What a session remembers about its user; stored encrypted and bound to the session's key. The user and grant ids
/// are repeated here so that whoever can write the store's plain columns cannot point a session at another grant.
/// </summary>
internal sealed record SessionData(string UserId, string GrantId, string Subject, Dictionary<string, JsonElement> Claims, string? UserAgent);
