using Microsoft.AspNetCore.Authorization;

namespace Portcullis.Authorization;

/// <summary>
/// The user must be a member of Discord guild <see cref="Guild"/> holding at least one of <see cref="Roles"/> (any member
/// when empty), as Discord answers <c>GET /users/@me/guilds/{guild}/member</c> for the user's own token (scope
/// <c>guilds.members.read</c>). Judged by <see cref="ProviderMembershipHandler"/>; answers are cached (<c>MembershipCacheDuration</c>).
/// </summary>
public sealed class DiscordGuildRequirement(string? provider, string guild, IEnumerable<string>? roles = null, string? guildName = null, string? roleName = null)
    : IAuthorizationRequirement
{
    /// <summary>The <c>discord</c> provider whose token is used; null for the only one configured.</summary>
    public string? Provider { get; } = provider;

    public string Guild { get; } = guild;

    public IReadOnlyList<string> Roles { get; } = roles?.ToArray() ?? [];

    /// <summary>How refusals name the guild; its id when not given.</summary>
    public string GuildName { get; } = guildName ?? guild;

    /// <summary>How refusals name the roles, e.g. <c>moderator</c>.</summary>
    public string? RoleName { get; } = roleName;

    internal string CacheKey => $"discord|{Guild}|{string.Join(',', Roles)}";

    public override string ToString() => $"Discord guild {Guild} roles {string.Join(',', Roles)}";
}

/// <summary>
/// The user must be an active member of GitHub organization <see cref="Organization"/>, or of its team <see cref="Team"/>
/// when given, as GitHub answers for the user's own token (scope <c>read:org</c>). Judged by <see cref="ProviderMembershipHandler"/>.
/// </summary>
public sealed class GitHubMembershipRequirement(string? provider, string organization, string? team = null) : IAuthorizationRequirement
{
    /// <summary>The <c>github</c> provider whose token is used; null for the only one configured.</summary>
    public string? Provider { get; } = provider;

    public string Organization { get; } = organization;

    public string? Team { get; } = team;

    internal string CacheKey => $"github|{Organization}|{Team}";

    public override string ToString() => Team is null ? $"GitHub organization {Organization}" : $"GitHub team {Organization}/{Team}";
}
