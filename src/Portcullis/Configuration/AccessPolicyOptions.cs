namespace Portcullis.Configuration;

/// <summary>
/// One named access policy: every requirement set here must hold (they are ANDed). A refusal is 403 <c>forbidden</c>
/// with a reason the app can show; a missing step-up is 401 <c>step_up_required</c>.
/// </summary>
public sealed class AccessPolicyOptions
{
    /// <summary>Scopes the user's grant must include. The default value is none.</summary>
    public List<string> RequireScopes { get; set; } = [];

    /// <summary>Claims the user must have, each with the values accepted (any one; an empty list accepts any value). The default value is none.</summary>
    public Dictionary<string, List<string>> RequireClaims { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The user's e-mail must be verified by the provider (<c>email_verified</c> true) and in one of these domains
    /// (e.g. <c>example.com</c>; exact match, no subdomains). The default value is none.
    /// </summary>
    public List<string> EmailDomains { get; set; } = [];

    /// <summary>Membership (and roles) in a Discord guild, asked of Discord with the user's own token.</summary>
    public DiscordPolicyOptions? Discord { get; set; }

    /// <summary>Membership in a GitHub organization, or one of its teams, asked of GitHub with the user's own token.</summary>
    public GitHubPolicyOptions? GitHub { get; set; }

    /// <summary>The user must have authenticated at the provider at most this long ago, else 401 <c>step_up_required</c>. The default value is none.</summary>
    public TimeSpan? MaxAge { get; set; }

    /// <summary>The authentication context class (<c>acr</c>) the provider must have reported, else 401 <c>step_up_required</c>. The default value is none.</summary>
    public string? Acr { get; set; }
}

/// <summary>
/// Discord guild membership via <c>GET /users/@me/guilds/{guild}/member</c> (needs the <c>guilds.members.read</c> scope).
/// </summary>
public sealed class DiscordPolicyOptions
{
    /// <summary>The <c>discord</c> provider whose token is used. The default value is the only configured <c>discord</c> provider.</summary>
    public string? Provider { get; set; }

    /// <summary>The guild (server) id, a snowflake such as <c>613425648685547541</c>. Required.</summary>
    public string? Guild { get; set; }

    /// <summary>How refusals name the guild, e.g. <c>Portcullis Moderators</c>. The default value is the guild id.</summary>
    public string? GuildName { get; set; }

    /// <summary>Role ids of which the member must hold at least one; none means any member. The default value is none.</summary>
    public List<string> Roles { get; set; } = [];

    /// <summary>How refusals name the roles (e.g. <c>moderator</c>). The default value is "one of the required roles".</summary>
    public string? RoleName { get; set; }
}

/// <summary>
/// GitHub organization membership (<c>GET /user/memberships/orgs/{org}</c>) or team membership
/// (<c>GET /orgs/{org}/teams/{team}/memberships/{username}</c>); both need the <c>read:org</c> scope.
/// </summary>
public sealed class GitHubPolicyOptions
{
    /// <summary>The <c>github</c> provider whose token is used. The default value is the only configured <c>github</c> provider.</summary>
    public string? Provider { get; set; }

    /// <summary>The organization's login, e.g. <c>octo-org</c>. Required.</summary>
    public string? Organization { get; set; }

    /// <summary>A team's slug in the organization, e.g. <c>moderators</c>; none means any active member of the organization.</summary>
    public string? Team { get; set; }
}
