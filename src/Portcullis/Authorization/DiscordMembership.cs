using System.Globalization;
using System.Net;
using System.Text.Json;
using Portcullis.Agent;
using Portcullis.Agent.Presets;

namespace Portcullis.Authorization;

/// <summary>
/// Discord's "Get Current User Guild Member" (discord.com/developers/docs/resources/user): <c>GET /users/@me/guilds/{guild.id}/member</c>
/// with the user's bearer token and scope <c>guilds.members.read</c>. 200 is a guild member object whose <c>roles</c> are role
/// ids; 404 (code 10004 "Unknown Guild") means the user is not in the guild; 403 (50001 "Missing Access") that the scope was
/// not granted; 429 carries <c>retry_after</c> (seconds, fractional).
/// </summary>
internal static class DiscordMembership
{
    public static async Task<MembershipDecision> AskAsync(HttpClient http, ProviderRuntime provider, string accessToken, DiscordGuildRequirement requirement, CancellationToken cancellationToken)
    {
        var url = $"{provider.Endpoints!.Api}/users/@me/guilds/{Uri.EscapeDataString(requirement.Guild)}/member";
        var answer = await ProviderApi.SendAsync(http, ProviderApi.Request(HttpMethod.Get, url, accessToken), cancellationToken);
        var guild = requirement.GuildName;
        switch (answer.Status)
        {
            case HttpStatusCode.OK:
                var roles = answer.Json is { ValueKind: JsonValueKind.Object } member && member.TryGetProperty("roles", out var list) && list.ValueKind == JsonValueKind.Array
                    ? list.EnumerateArray().Where(r => r.ValueKind == JsonValueKind.String).Select(r => r.GetString()!).ToHashSet(StringComparer.Ordinal)
                    : [];
                if (requirement.Roles.Count == 0 || requirement.Roles.Any(roles.Contains))
                {
                    return MembershipDecision.Admit;
                }

                return MembershipDecision.Refuse(requirement.RoleName is { } roleName
                    ? $"You are not a {roleName} of {guild}."
                    : $"You do not hold a role this page requires in {guild}.");
            case HttpStatusCode.NotFound:
                return MembershipDecision.Refuse($"You are not a member of {guild}.");
            case HttpStatusCode.Forbidden:
                // Not an answer about the user: the sign-in lacks guilds.members.read. Signing in again (with the scope) fixes it.
                return MembershipDecision.Refuse($"Discord did not let us see your membership of {guild}: sign in again and allow reading your server membership.") with { IsAnswer = false };
            case HttpStatusCode.Unauthorized:
                return MembershipDecision.Refuse("Discord no longer accepts this sign-in; sign in again.") with { IsAnswer = false };
            case HttpStatusCode.TooManyRequests:
                return MembershipDecision.Unavailable($"Discord is busy and could not confirm your membership of {guild}. Try again shortly.", RetryAfter(answer));
            default:
                return MembershipDecision.Unavailable($"Discord could not confirm your membership of {guild}. Try again shortly.", 5);
        }
    }

    /// <summary>Discord's <c>retry_after</c> is in seconds with a fraction; HTTP's Retry-After takes whole seconds, rounded up.</summary>
    private static int RetryAfter(ApiAnswer answer) =>
        answer.Json is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty("retry_after", out var value) && value.ValueKind == JsonValueKind.Number
            ? (int)Math.Ceiling(Math.Min(value.GetDouble(), 3600))
            : 5;
}
