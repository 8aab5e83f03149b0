using System.Text.Json;

namespace Portcullis.Sessions;

/// <summary>
/// What a session remembers about its user; stored encrypted and bound to the session's key. The user and grant ids
/// are repeated here so that whoever can write the store's plain columns cannot point a session at another grant.
/// </summary>
internal sealed record SessionData(string UserId, string GrantId, string Subject, Dictionary<string, JsonElement> Claims, string? UserAgent)
{
    /// <summary>The client's network at login (e.g. <c>203.0.113.0/24</c>), for the anomaly check.</summary>
    public string? ClientNetwork { get; init; }

    /// <summary>When the user authenticated at the provider, as its ID token said (step-up policies check it).</summary>
    public DateTimeOffset? AuthTime { get; init; }

    /// <summary>The authentication context class the provider reported (<c>acr</c>).</summary>
    public string? Acr { get; init; }
}
