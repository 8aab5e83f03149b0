using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Portcullis.Simulators;

/// <summary>
/// GitHub's OAuth endpoints as documented at docs.github.com: <c>/login/oauth/authorize</c>,
/// <c>/login/oauth/access_token</c> (form-encoded answers unless <c>Accept: application/json</c>; every error with
/// HTTP 200), and on the REST API under <c>/api</c>: <c>GET /user</c>, <c>GET /user/emails</c>,
/// <c>DELETE /applications/{client_id}/grant</c> and <c>/token</c>. The API refuses requests without
/// <c>User-Agent</c>, like GitHub's.
/// </summary>
public sealed class GitHubSimulator : ProviderSimulator
{
    /// <summary>Lifetime of expiring user tokens (8 hours) and their refresh tokens (6 months), per GitHub's docs.</summary>
    public static readonly TimeSpan ExpiringTokenLifetime = TimeSpan.FromHours(8);

    public const int RefreshTokenLifetimeSeconds = 15897600;

    private const string DocsBase = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/";

    public GitHubSimulator(SimulatedClient client, IEnumerable<SimulatedUser>? users = null)
        : base(client, users ?? DefaultUsers())
    {
    }

    /// <summary>
    /// Whether the app opted in to expiring user tokens (GitHub Apps' "Expire user authorization tokens"): then tokens
    /// live 8 hours and come with a rotating refresh token. The default value is <c>false</c> (tokens never expire).
    /// </summary>
    public bool ExpiringUserTokens { get; set; }

    public override string AuthorizationPath => "/login/oauth/authorize";

    public string TokenEndpoint => Url + "/login/oauth/access_token";

    /// <summary>Base of the simulated REST API (GitHub's <c>https://api.github.com</c>).</summary>
    public string ApiUrl => Url + "/api";

    public static SimulatedUser[] DefaultUsers() =>
    [
        new("583231", "octocat") { DisplayName = "The Octocat", Email = "octocat@example.com", Avatar = "https://avatars.githubusercontent.com/u/583231?v=4" },
        new("9919", "hubot") { DisplayName = null, Email = "hubot@example.com", EmailVerified = false },
    ];

    protected override IEnumerable<KeyValuePair<string, string?>> DeniedParameters() =>
    [
        new("error", "access_denied"),
        new("error_description", "The user has denied your application access."),
        new("error_uri", "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied"),
    ];

    protected override void MapEndpoints(WebApplication app)
    {
        app.MapPost("/login/oauth/access_token", (Delegate)TokenAsync);
        var api = app.MapGroup("/api").AddEndpointFilter(async (context, next) =>
        {
            var request = context.HttpContext.Request;
            Observed.ApiRequests.Enqueue($"{request.Method} {request.Path}");
            // GitHub: "All API requests MUST include a valid User-Agent header."
            if (string.IsNullOrEmpty(request.Headers.UserAgent))
            {
                return Results.Text(
                    "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n",
                    "text/plain",
                    statusCode: 403);
            }

            return await next(context);
        });
        api.MapGet("/user", User);
        api.MapGet("/user/emails", Emails);
        api.MapGet("/user/memberships/orgs/{org}", OrganizationMembership);
        api.MapGet("/orgs/{org}/teams/{team}/memberships/{username}", TeamMembership);
        api.MapDelete("/applications/{clientId}/grant", (HttpContext context, string clientId) => DeleteAsync(context, clientId, wholeGrant: true));
        api.MapDelete("/applications/{clientId}/token", (HttpContext context, string clientId) => DeleteAsync(context, clientId, wholeGrant: false));
    }

    private async Task<IResult> TokenAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        var accept = context.Request.Headers.Accept.ToString();
        var grantType = Value(form["grant_type"]) ?? "authorization_code";
        var (id, secret, style) = ClientCredentials(context.Request, form);

        Dictionary<string, object?> answer;
        // GitHub documents the credentials as parameters; Basic authentication is not part of its token API.
        if (style != "post" || !IsClient(id, secret))
        {
            answer = Error("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.", "#incorrect-client-credentials");
        }
        else if (grantType == "authorization_code")
        {
            answer = RedeemCode(form);
        }
        else if (grantType == "refresh_token")
        {
            answer = Tokens.TakeRefreshToken(Value(form["refresh_token"])) is { } refresh
                ? Issue(refresh.User, refresh.Scope, refresh.Family)
                : Error("bad_refresh_token", "The refresh token passed is incorrect or expired.", "#bad-refresh-token");
        }
        else
        {
            answer = Error("unsupported_grant_type", "The grant type is not supported.", "#unsupported-grant-type");
        }

        var error = answer.TryGetValue("error", out var e) ? (string?)e : null;
        Observed.TokenRequests.Enqueue(new TokenRequestRecord(grantType, 200, error, accept, style));
        // Every answer, errors included, is HTTP 200; JSON only for clients that ask for it.
        if (accept.Contains("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return Json(200, answer);
        }

        var encoded = string.Join('&', answer.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty)}"));
        return Results.Text(encoded, "application/x-www-form-urlencoded; charset=utf-8", Encoding.UTF8, 200);
    }

    private Dictionary<string, object?> RedeemCode(IFormCollection form)
    {
        var code = Tokens.TakeCode(Value(form["code"]));
        if (code is null || !TokenBook.VerifierMatches(code.CodeChallenge, Value(form["code_verifier"])))
        {
            return Error("bad_verification_code", "The code passed is incorrect or expired.", "#bad-verification-code");
        }

        if (Value(form["redirect_uri"]) is { } redirect && redirect != code.RedirectUri)
        {
            return Error("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.", "#redirect-uri-mismatch");
        }

        // GitHub reports granted scopes comma-separated.
        var scope = string.Join(',', code.Scope.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries));
        return Issue(code.User, scope, TokenBook.NewFamily());
    }

    private Dictionary<string, object?> Issue(SimulatedUser user, string scope, string family)
    {
        if (!ExpiringUserTokens)
        {
            return new() { ["access_token"] = Tokens.IssueAccessToken(user, scope, AccessTokenLifetime, family, "gho_"), ["token_type"] = "bearer", ["scope"] = scope };
        }

        var lifetime = AccessTokenLifetime ?? ExpiringTokenLifetime;
        return new()
        {
            ["access_token"] = Tokens.IssueAccessToken(user, scope, lifetime, family, "ghu_"),
            ["expires_in"] = (int)lifetime.TotalSeconds,
            ["refresh_token"] = Tokens.IssueRefreshToken(user, scope, family, "ghr_"),
            ["refresh_token_expires_in"] = RefreshTokenLifetimeSeconds,
            ["scope"] = scope,
            ["token_type"] = "bearer",
        };
    }

    private static Dictionary<string, object?> Error(string code, string description, string anchor) =>
        new() { ["error"] = code, ["error_description"] = description, ["error_uri"] = DocsBase + anchor };

    private IResult User(HttpContext context)
    {
        if (Tokens.FindAccessToken(BearerToken(context.Request)) is not { } token)
        {
            return BadCredentials();
        }

        var user = token.User;
        return Json(200, new Dictionary<string, object?>
        {
            ["login"] = user.Username,
            ["id"] = long.Parse(user.Id, System.Globalization.CultureInfo.InvariantCulture),
            ["node_id"] = Convert.ToBase64String(Encoding.ASCII.GetBytes($"04:User{user.Id}")),
            ["avatar_url"] = user.Avatar,
            ["gravatar_id"] = string.Empty,
            ["url"] = $"{ApiUrl}/users/{user.Username}",
            ["html_url"] = $"https://github.com/{user.Username}",
            ["type"] = "User",
            ["site_admin"] = false,
            ["name"] = user.DisplayName,
            ["company"] = null,
            ["blog"] = string.Empty,
            ["location"] = null,
            // The public e-mail of the profile; null when the user keeps it private.
            ["email"] = null,
            ["hireable"] = null,
            ["bio"] = null,
            ["twitter_username"] = null,
            ["public_repos"] = 8,
            ["public_gists"] = 8,
            ["followers"] = 3938,
            ["following"] = 9,
            ["created_at"] = "2011-01-25T18:44:36Z",
            ["updated_at"] = "2024-01-22T12:00:00Z",
        });
    }

    private IResult Emails(HttpContext context)
    {
        if (Tokens.FindAccessToken(BearerToken(context.Request)) is not { } token)
        {
            return BadCredentials();
        }

        if (!token.HasScope("user:email") && !token.HasScope("user"))
        {
            return Json(404, new Dictionary<string, object?>
            {
                ["message"] = "Not Found",
                ["documentation_url"] = "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user",
                ["status"] = "404",
            });
        }

        var user = token.User;
        return Json(200, new object[]
        {
            new Dictionary<string, object?> { ["email"] = user.Email, ["verified"] = user.EmailVerified, ["primary"] = true, ["visibility"] = "private" },
            new Dictionary<string, object?> { ["email"] = $"{user.Id}+{user.Username}@users.noreply.github.com", ["verified"] = true, ["primary"] = false, ["visibility"] = null },
        });
    }

    private async Task<IResult> DeleteAsync(HttpContext context, string clientId, bool wholeGrant)
    {
        var (id, secret, style) = ClientCredentials(context.Request, FormCollection.Empty);
        if (style != "basic" || id != clientId || !IsClient(id, secret))
        {
            return Json(404, new Dictionary<string, object?> { ["message"] = "Not Found", ["documentation_url"] = "https://docs.github.com/rest/apps/oauth-applications#delete-an-app-authorization", ["status"] = "404" });
        }

        string? accessToken = null;
        try
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            accessToken = body.RootElement.TryGetProperty("access_token", out var value) ? value.GetString() : null;
        }
        catch (JsonException)
        {
        }

        if (Tokens.FindAny(accessToken) is not { } token)
        {
            return Json(422, new Dictionary<string, object?>
            {
                ["message"] = "Validation Failed",
                ["errors"] = new[] { new Dictionary<string, object?> { ["resource"] = "Authorization", ["field"] = "access_token", ["code"] = "invalid" } },
                ["documentation_url"] = "https://docs.github.com/rest/apps/oauth-applications#delete-an-app-authorization",
                ["status"] = "422",
            });
        }

        // The grant is the app's whole authorization by this user: every token of it goes.
        var revoked = wholeGrant ? Tokens.RevokeUser(token.User.Id) : (Tokens.RevokeAccessToken(accessToken!) ? 1 : 0);
        Observed.Revocations.Enqueue(new RevocationRecord(wholeGrant ? "DELETE /applications/{client_id}/grant" : "DELETE /applications/{client_id}/token", null, token.User.Id, revoked));
        return Results.NoContent();
    }

    /// <summary>
    /// "Get an organization membership for the authenticated user" (docs.github.com/rest/orgs/members): scope <c>read:org</c>;
    /// 200 with <c>state</c> <c>active</c>/<c>pending</c> and <c>role</c>; 404 when the user is not a member; 403 without the scope.
    /// </summary>
    private IResult OrganizationMembership(HttpContext context, string org)
    {
        if (Tokens.FindAccessToken(BearerToken(context.Request)) is not { } token)
        {
            return BadCredentials();
        }

        if (!HasOrgScope(token))
        {
            return MissingOrgScope("https://docs.github.com/rest/orgs/members#get-an-organization-membership-for-the-authenticated-user");
        }

        if (!token.User.Organizations.TryGetValue(org, out var state))
        {
            return NotFound("https://docs.github.com/rest/orgs/members#get-an-organization-membership-for-the-authenticated-user");
        }

        return Json(200, new Dictionary<string, object?>
        {
            ["url"] = $"{ApiUrl}/orgs/{org}/memberships/{token.User.Username}",
            ["state"] = state,
            ["role"] = "member",
            ["organization_url"] = $"{ApiUrl}/orgs/{org}",
            ["organization"] = new Dictionary<string, object?> { ["login"] = org, ["id"] = 1, ["url"] = $"{ApiUrl}/orgs/{org}" },
            ["user"] = new Dictionary<string, object?> { ["login"] = token.User.Username, ["id"] = long.Parse(token.User.Id, System.Globalization.CultureInfo.InvariantCulture) },
        });
    }

    /// <summary>
    /// "Get team membership for a user" (docs.github.com/rest/teams/members): 200 <c>{url, role, state}</c>; 404 when the user
    /// is not on the team (or the caller cannot see it: only members of the organization can).
    /// </summary>
    private IResult TeamMembership(HttpContext context, string org, string team, string username)
    {
        if (Tokens.FindAccessToken(BearerToken(context.Request)) is not { } token)
        {
            return BadCredentials();
        }

        if (!HasOrgScope(token))
        {
            return MissingOrgScope("https://docs.github.com/rest/teams/members#get-team-membership-for-a-user");
        }

        var caller = token.User;
        var member = Users.TryGetValue(username, out var found) ? found : null;
        if (!caller.Organizations.ContainsKey(org) || member is null || !member.Teams.TryGetValue($"{org}/{team}", out var state))
        {
            return NotFound("https://docs.github.com/rest/teams/members#get-team-membership-for-a-user");
        }

        return Json(200, new Dictionary<string, object?>
        {
            ["url"] = $"{ApiUrl}/organizations/1/team/1/memberships/{member.Username}",
            ["role"] = "member",
            ["state"] = state,
        });
    }

    private static bool HasOrgScope(IssuedToken token) => token.HasScope("read:org") || token.HasScope("write:org") || token.HasScope("admin:org");

    private static IResult MissingOrgScope(string documentation) =>
        Json(403, new Dictionary<string, object?> { ["message"] = "You need at least read:org scope or user scope to list your organization memberships.", ["documentation_url"] = documentation, ["status"] = "403" });

    private static IResult NotFound(string documentation) =>
        Json(404, new Dictionary<string, object?> { ["message"] = "Not Found", ["documentation_url"] = documentation, ["status"] = "404" });

    private static IResult BadCredentials() =>
        Json(401, new Dictionary<string, object?> { ["message"] = "Bad credentials", ["documentation_url"] = "https://docs.github.com/rest", ["status"] = "401" });
}
