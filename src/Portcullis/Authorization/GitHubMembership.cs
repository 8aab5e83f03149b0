using System.Net;
using System.Net.Http.Headers;
using Portcullis.Agent;
using Portcullis.Agent.Presets;

namespace Portcullis.Authorization;

/// <summary>
/// GitHub's REST API (docs.github.com/rest/orgs/members, /rest/teams/members), scope <c>read:org</c>:
/// <c>GET /user/memberships/orgs/{org}</c> and <c>GET /orgs/{org}/teams/{team_slug}/memberships/{username}</c> answer 200 with
/// <c>state</c> <c>active</c> or <c>pending</c> (an invitation not yet accepted, which is not membership), 404 when the user is
/// not a member (or cannot see the team), 403 when rate limited or the token lacks the scope.
/// </summary>
internal static class GitHubMembership
{
    public static async Task<MembershipDecision> AskAsync(HttpClient http, ProviderRuntime provider, string accessToken, string? login, GitHubMembershipRequirement requirement, CancellationToken cancellationToken)
    {
        var org = Uri.EscapeDataString(requirement.Organization);
        string url;
        string what;
        if (requirement.Team is { } team)
        {
            if (string.IsNullOrEmpty(login))
            {
                return MembershipDecision.Refuse("GitHub did not tell us your login; sign in again.") with { IsAnswer = false };
            }

            url = $"{provider.Endpoints!.Api}/orgs/{org}/teams/{Uri.EscapeDataString(team)}/memberships/{Uri.EscapeDataString(login)}";
            what = $"the team {requirement.Organization}/{team}";
        }
        else
        {
            url = $"{provider.Endpoints!.Api}/user/memberships/orgs/{org}";
            what = $"the organization {requirement.Organization}";
        }

        var request = ProviderApi.Request(HttpMethod.Get, url, accessToken);
        request.Headers.Accept.Clear();
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.github+json"));
        request.Headers.Add("X-GitHub-Api-Version", "2022-11-28");
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Portcullis", "1.0"));
        var answer = await ProviderApi.SendAsync(http, request, cancellationToken);
        return answer.Status switch
        {
            HttpStatusCode.OK when answer.Json?.String("state") == "active" => MembershipDecision.Admit,
            HttpStatusCode.OK => MembershipDecision.Refuse($"Your membership of {what} is not active yet; accept the invitation on GitHub."),
            HttpStatusCode.NotFound => MembershipDecision.Refuse($"You are not a member of {what}."),
            HttpStatusCode.Unauthorized => MembershipDecision.Refuse("GitHub no longer accepts this sign-in; sign in again.") with { IsAnswer = false },
            // 403 without a rate limit is the token lacking read:org (or the organization restricting OAuth apps): signing in again can fix it.
            HttpStatusCode.Forbidden => MembershipDecision.Refuse($"GitHub did not let us see your membership of {what}: sign in again and allow reading your organizations.") with { IsAnswer = false },
            HttpStatusCode.TooManyRequests => MembershipDecision.Unavailable($"GitHub could not confirm your membership of {what}. Try again shortly.", 60),
            _ => MembershipDecision.Unavailable($"GitHub could not confirm your membership of {what}. Try again shortly.", 5),
        };
    }
}
