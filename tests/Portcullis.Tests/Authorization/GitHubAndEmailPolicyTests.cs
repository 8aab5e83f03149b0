using System.Net;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Providers;

namespace Portcullis.Tests.Authorization;

/// <summary>Issue 5 item 4: GitHub organization/team membership asked with the user's token, and verified e-mail domains.</summary>
public sealed class GitHubAndEmailPolicyTests
{
    private static Task<ProviderStack> StartAsync(RecordingUpstream upstream) =>
        ProviderStack.StartAsync(
            gitHub: true,
            prepare: s =>
            {
                var octocat = s.GitHub!.Users["octocat"];
                octocat.Organizations["octo-org"] = "active";
                octocat.Teams["octo-org/moderators"] = "active";
                var hubot = s.GitHub.Users["hubot"];
                hubot.Organizations["octo-org"] = "active";
                var monalisa = new Simulators.SimulatedUser("1000001", "monalisa") { DisplayName = "Mona", Email = "mona@example.org" };
                monalisa.Organizations["octo-org"] = "pending";
                monalisa.Teams["octo-org/moderators"] = "pending";
                s.GitHub.Users["monalisa"] = monalisa;
            },
            adjust: settings =>
            {
                settings["Portcullis:Providers:github:Scopes:0"] = "read:user";
                settings["Portcullis:Providers:github:Scopes:1"] = "user:email";
                settings["Portcullis:Providers:github:Scopes:2"] = "read:org";
                settings["Portcullis:Policies:team:GitHub:Organization"] = "octo-org";
                settings["Portcullis:Policies:team:GitHub:Team"] = "moderators";
                settings["Portcullis:Policies:org:GitHub:Organization"] = "octo-org";
                settings["Portcullis:Policies:staff:EmailDomains:0"] = "example.com";
                foreach (var name in new[] { "team", "org", "staff" })
                {
                    settings[$"Portcullis:Apis:{name}:Path"] = $"/api/{name}";
                    settings[$"Portcullis:Apis:{name}:Upstream"] = upstream.Url;
                    settings[$"Portcullis:Apis:{name}:Policy"] = name;
                }
            });

    [Fact]
    public async Task AGitHubTeamPolicyAdmitsTeamMembersAndRefusesOthers()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await StartAsync(upstream);
        using var octocat = new BrowserClient();
        using var hubot = new BrowserClient();
        using var monalisa = new BrowserClient();
        await SignInAsync(stack, octocat, hubot, monalisa);

        var member = await octocat.GetAsync($"{stack.Origin}/api/team/1", BrowserClient.Csrf);
        var orgOnly = await hubot.GetAsync($"{stack.Origin}/api/team/2", BrowserClient.Csrf);
        var pending = await monalisa.GetAsync($"{stack.Origin}/api/team/3", BrowserClient.Csrf);
        var hubotInOrg = await hubot.GetAsync($"{stack.Origin}/api/org/4", BrowserClient.Csrf);
        var pendingInOrg = await monalisa.GetAsync($"{stack.Origin}/api/org/5", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, member.Status);
        Assert.Equal(HttpStatusCode.Forbidden, orgOnly.Status);
        Assert.Contains("\"error\":\"forbidden\"", orgOnly.Body);
        Assert.Contains("You are not a member of the team octo-org/moderators.", orgOnly.Body);
        // An invitation not yet accepted is not membership.
        Assert.Equal(HttpStatusCode.Forbidden, pending.Status);
        Assert.Contains("not active yet", pending.Body);
        Assert.Equal(HttpStatusCode.OK, hubotInOrg.Status);
        Assert.Equal(HttpStatusCode.Forbidden, pendingInOrg.Status);
        Assert.Equal(["/api/team/1", "/api/org/4"], upstream.Requests.Select(r => r.PathAndQuery).ToArray());
        // Each asked GitHub with their own token, about themselves.
        Assert.Contains("GET /api/orgs/octo-org/teams/moderators/memberships/octocat", stack.GitHub!.Observed.ApiRequests);
        Assert.Contains("GET /api/orgs/octo-org/teams/moderators/memberships/hubot", stack.GitHub.Observed.ApiRequests);
        Assert.Contains("GET /api/user/memberships/orgs/octo-org", stack.GitHub.Observed.ApiRequests);
    }

    [Fact]
    public async Task AnEmailDomainPolicyAdmitsOnlyVerifiedAddressesInTheDomain()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await StartAsync(upstream);
        using var octocat = new BrowserClient();
        using var hubot = new BrowserClient();
        using var monalisa = new BrowserClient();
        await SignInAsync(stack, octocat, hubot, monalisa);

        var verifiedInDomain = await octocat.GetAsync($"{stack.Origin}/api/staff", BrowserClient.Csrf);
        var unverified = await hubot.GetAsync($"{stack.Origin}/api/staff", BrowserClient.Csrf);
        var otherDomain = await monalisa.GetAsync($"{stack.Origin}/api/staff", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.OK, verifiedInDomain.Status);
        // hubot's only address is unverified at GitHub, so the session has none.
        Assert.Equal(HttpStatusCode.Forbidden, unverified.Status);
        Assert.Contains("verified e-mail address at @example.com", unverified.Body);
        Assert.Equal(HttpStatusCode.Forbidden, otherDomain.Status);
        Assert.Contains("mona@example.org is not one", otherDomain.Body);
        Assert.Single(upstream.Requests);
    }

    /// <summary>octocat (team member), hubot (organization only, unverified e-mail) and monalisa (invitations pending), each in their own browser.</summary>
    private static async Task SignInAsync(ProviderStack stack, BrowserClient octocat, BrowserClient hubot, BrowserClient monalisa)
    {
        await stack.LoginAsync(octocat, "github", "octocat");
        await stack.LoginAsync(hubot, "github", "hubot");
        await stack.LoginAsync(monalisa, "github", "monalisa");
    }
}
