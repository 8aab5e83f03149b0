using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Providers;

namespace Portcullis.Tests.Authorization;

/// <summary>Gateways whose <c>/api/orders</c> route names a policy, against the simulated providers.</summary>
internal static class PolicyStacks
{
    public const string Guild = "613425648685547541";
    public const string ModeratorRole = "1043857591234567890";
    public const string OtherRole = "1043857599999999999";

    /// <summary>
    /// Discord with <c>guilds.members.read</c>; policy <c>moderators</c>: the moderator role in guild "Portcullis HQ".
    /// nelly is a moderator, mason a member without the role; a third user, ghost, is not in the guild.
    /// </summary>
    public static Task<ProviderStack> DiscordAsync(RecordingUpstream upstream, TimeSpan cacheDuration, TimeProvider? clock = null) =>
        ProviderStack.StartAsync(
            discord: true,
            prepare: s =>
            {
                s.Discord!.Users["nelly"].GuildRoles[Guild] = [OtherRole, ModeratorRole];
                s.Discord.Users["mason"].GuildRoles[Guild] = [OtherRole];
                s.Discord.Users["ghost"] = new Simulators.SimulatedUser("11111111111111111", "ghost") { Email = "ghost@example.com" };
            },
            adjust: settings =>
            {
                TestStack.OrdersRoute(upstream.Url)(settings);
                settings["Portcullis:Apis:orders:Policy"] = "moderators";
                settings["Portcullis:Providers:discord:Scopes:0"] = "identify";
                settings["Portcullis:Providers:discord:Scopes:1"] = "email";
                settings["Portcullis:Providers:discord:Scopes:2"] = "guilds.members.read";
                settings["Portcullis:Policies:moderators:Discord:Guild"] = Guild;
                settings["Portcullis:Policies:moderators:Discord:GuildName"] = "Portcullis HQ";
                settings["Portcullis:Policies:moderators:Discord:RoleName"] = "moderator";
                settings["Portcullis:Policies:moderators:Discord:Roles:0"] = ModeratorRole;
                settings["Portcullis:MembershipCacheDuration"] = cacheDuration.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
            },
            clock: clock);
}
