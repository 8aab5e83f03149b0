namespace Portcullis.Simulators;

/// <summary>
/// A person with an account at a simulated provider. <see cref="Id"/> is the provider's stable user id; the other
/// values feed the user endpoints. <see cref="GuildRoles"/> (Discord) maps a guild id to the member's role ids and can
/// be changed while a test runs.
/// </summary>
public sealed class SimulatedUser(string id, string username)
{
    public string Id { get; } = id;

    public string Username { get; } = username;

    public string? DisplayName { get; init; }

    public string? Email { get; init; }

    public bool EmailVerified { get; init; } = true;

    /// <summary>Avatar hash (Discord) or image path; null when the user has none.</summary>
    public string? Avatar { get; init; }

    public System.Collections.Concurrent.ConcurrentDictionary<string, string[]> GuildRoles { get; } = new(StringComparer.Ordinal);

    /// <summary>GitHub: organization login → membership state (<c>active</c> or <c>pending</c>); tests may change it while running.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, string> Organizations { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>GitHub: <c>org/team-slug</c> → team membership state (<c>active</c> or <c>pending</c>).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, string> Teams { get; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>The one registered application (client) a simulator knows.</summary>
public sealed record SimulatedClient(string ClientId, string ClientSecret, IReadOnlyList<string> RedirectUris);
