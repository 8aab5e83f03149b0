using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Portcullis.Simulators;

/// <summary>
/// Discord's OAuth2 as documented at discord.com/developers/docs ("OAuth2", "Users", "Guild", "Rate Limits"):
/// <c>/oauth2/authorize</c>; under <c>/api/v10</c> the token endpoint (RFC 6749 errors with HTTP 400/401, refresh
/// tokens that rotate), <c>/oauth2/token/revoke</c> (RFC 7009), <c>GET /users/@me</c> and
/// <c>GET /users/@me/guilds/{guild.id}/member</c> (scope <c>guilds.members.read</c>). Tests can make the next
/// requests answer 429 with <c>retry_after</c>, as Discord's rate limiter does.
/// </summary>
public sealed class DiscordSimulator : ProviderSimulator
{
    /// <summary>Discord's access tokens live a week.</summary>
    public static readonly TimeSpan DefaultAccessTokenLifetime = TimeSpan.FromSeconds(604800);

    private int _rateLimitedTokenRequests;
    private int _rateLimitedApiRequests;

    public DiscordSimulator(SimulatedClient client, IEnumerable<SimulatedUser>? users = null)
        : base(client, users ?? DefaultUsers())
    {
    }

    public override string AuthorizationPath => "/oauth2/authorize";

    /// <summary>Base of the simulated API (Discord's <c>https://discord.com/api/v10</c>).</summary>
    public string ApiUrl => Url + "/api/v10";

    /// <summary><c>retry_after</c> in seconds of the simulated 429 answers. The default value is 1.5.</summary>
    public double RetryAfterSeconds { get; set; } = 1.5;

    /// <summary>The next <paramref name="count"/> token-endpoint requests get 429 (rate limited).</summary>
    public void RateLimitTokenRequests(int count) => Interlocked.Exchange(ref _rateLimitedTokenRequests, count);

    /// <summary>The next <paramref name="count"/> API requests (user, guild member) get 429 (rate limited).</summary>
    public void RateLimitApiRequests(int count) => Interlocked.Exchange(ref _rateLimitedApiRequests, count);

    public static SimulatedUser[] DefaultUsers() =>
    [
        new("80351110224678912", "nelly") { DisplayName = "Nelly", Email = "nelly@example.com", Avatar = "8342729096ea3675442027381ff50dfe" },
        new("53908232506183680", "mason") { DisplayName = null, Email = "mason@example.com", EmailVerified = false },
    ];

    protected override IEnumerable<KeyValuePair<string, string?>> DeniedParameters() =>
    [
        new("error", "access_denied"),
        new("error_description", "The resource owner or authorization server denied the request"),
    ];

    protected override string? CheckAuthorizationRequest(IReadOnlyDictionary<string, string?> request) =>
        request["response_type"] != "code" ? "response_type must be 'code'." : string.IsNullOrEmpty(request["scope"]) ? "scope is required." : null;

    protected override void MapEndpoints(WebApplication app)
    {
        app.MapPost("/api/v10/oauth2/token", (Delegate)TokenAsync);
        app.MapPost("/api/v10/oauth2/token/revoke", (Delegate)RevokeAsync);
        var api = app.MapGroup("/api/v10/users/@me").AddEndpointFilter(async (context, next) =>
        {
            Observed.ApiRequests.Enqueue($"{context.HttpContext.Request.Method} {context.HttpContext.Request.Path}");
            return TakeRateLimit(ref _rateLimitedApiRequests) ? RateLimited(context.HttpContext, "user") : await next(context);
        });
        api.MapGet("/", User);
        api.MapGet("/guilds/{guildId}/member", Member);
    }

    private async Task<IResult> TokenAsync(HttpContext context)
    {
        if (!context.Request.HasFormContentType)
        {
            return Json(400, new Dictionary<string, object?> { ["error"] = "invalid_request", ["error_description"] = "Content-Type must be application/x-www-form-urlencoded" });
        }

        var form = await context.Request.ReadFormAsync();
        var grantType = Value(form["grant_type"]) ?? string.Empty;
        var (id, secret, style) = ClientCredentials(context.Request, form);
        if (TakeRateLimit(ref _rateLimitedTokenRequests))
        {
            Observed.TokenRequests.Enqueue(new TokenRequestRecord(grantType, 429, "rate_limited", context.Request.Headers.Accept, style));
            return RateLimited(context, "user");
        }

        var (status, answer) = !IsClient(id, secret)
            ? (401, Error("invalid_client", null))
            : grantType switch
            {
                "authorization_code" => RedeemCode(form),
                "refresh_token" => Tokens.TakeRefreshToken(Value(form["refresh_token"])) is { } refresh
                    ? (200, Issue(refresh.User, refresh.Scope, refresh.Family))
                    : (400, Error("invalid_grant", "Invalid \"refresh_token\" in request.")),
                _ => (400, Error("unsupported_grant_type", null)),
            };
        Observed.TokenRequests.Enqueue(new TokenRequestRecord(grantType, status, answer.TryGetValue("error", out var e) ? (string?)e : null, context.Request.Headers.Accept, style));
        return Json(status, answer);
    }

    private (int, Dictionary<string, object?>) RedeemCode(IFormCollection form)
    {
        var code = Tokens.TakeCode(Value(form["code"]));
        if (code is null || code.RedirectUri != Value(form["redirect_uri"]))
        {
            return (400, Error("invalid_grant", "Invalid \"code\" in request."));
        }

        if (!TokenBook.VerifierMatches(code.CodeChallenge, Value(form["code_verifier"])))
        {
            return (400, Error("invalid_grant", "Invalid \"code_verifier\" in request."));
        }

        return (200, Issue(code.User, code.Scope, TokenBook.NewFamily()));
    }

    private Dictionary<string, object?> Issue(SimulatedUser user, string scope, string family)
    {
        var lifetime = AccessTokenLifetime ?? DefaultAccessTokenLifetime;
        return new()
        {
            ["token_type"] = "Bearer",
            ["access_token"] = Tokens.IssueAccessToken(user, scope, lifetime, family, string.Empty),
            ["expires_in"] = (int)lifetime.TotalSeconds,
            ["refresh_token"] = Tokens.IssueRefreshToken(user, scope, family, string.Empty),
            ["scope"] = scope,
        };
    }

    private async Task<IResult> RevokeAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        var (id, secret, _) = ClientCredentials(context.Request, form);
        if (!IsClient(id, secret))
        {
            return Json(401, Error("invalid_client", null));
        }

        var token = Tokens.FindAny(Value(form["token"]));
        // RFC 7009 §2.2: an unknown token is answered with 200 too. Revoking either token ends the whole authorization.
        var revoked = token is null ? 0 : Tokens.RevokeFamily(token.Family);
        Observed.Revocations.Enqueue(new RevocationRecord("POST /oauth2/token/revoke", Value(form["token_type_hint"]), token?.User.Id, revoked));
        return Json(200, new Dictionary<string, object?>());
    }

    private IResult User(HttpContext context)
    {
        if (Tokens.FindAccessToken(BearerToken(context.Request)) is not { } token)
        {
            return Unauthorized();
        }

        var user = token.User;
        var body = new Dictionary<string, object?>
        {
            ["id"] = user.Id,
            ["username"] = user.Username,
            ["discriminator"] = "0",
            ["global_name"] = user.DisplayName,
            ["avatar"] = user.Avatar,
            ["bot"] = null,
            ["mfa_enabled"] = true,
            ["banner"] = null,
            ["accent_color"] = null,
            ["locale"] = "en-US",
            ["flags"] = 64,
            ["premium_type"] = 0,
            ["public_flags"] = 64,
        };
        body.Remove("bot");
        // "email" and "verified" only with the email scope.
        if (token.HasScope("email"))
        {
            body["email"] = user.Email;
            body["verified"] = user.EmailVerified;
        }

        return Json(200, body);
    }

    private IResult Member(HttpContext context, string guildId)
    {
        if (Tokens.FindAccessToken(BearerToken(context.Request)) is not { } token)
        {
            return Unauthorized();
        }

        if (!token.HasScope("guilds.members.read"))
        {
            return Json(403, new Dictionary<string, object?> { ["message"] = "Missing Access", ["code"] = 50001 });
        }

        if (!token.User.GuildRoles.TryGetValue(guildId, out var roles))
        {
            return Json(404, new Dictionary<string, object?> { ["message"] = "Unknown Guild", ["code"] = 10004 });
        }

        return Json(200, new Dictionary<string, object?>
        {
            ["avatar"] = null,
            ["banner"] = null,
            ["communication_disabled_until"] = null,
            ["flags"] = 0,
            ["joined_at"] = "2015-04-26T06:26:56.936000+00:00",
            ["nick"] = null,
            ["pending"] = false,
            ["premium_since"] = null,
            ["roles"] = roles,
            ["unusual_dm_activity_until"] = null,
            ["user"] = new Dictionary<string, object?> { ["id"] = token.User.Id, ["username"] = token.User.Username, ["discriminator"] = "0", ["global_name"] = token.User.DisplayName, ["avatar"] = token.User.Avatar },
            ["mute"] = false,
            ["deaf"] = false,
        });
    }

    private static bool TakeRateLimit(ref int counter)
    {
        while (true)
        {
            var current = Volatile.Read(ref counter);
            if (current <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref counter, current - 1, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>Discord's 429: a JSON body with <c>retry_after</c> (seconds, fractional) and the rate-limit headers.</summary>
    private IResult RateLimited(HttpContext context, string scope)
    {
        var headers = context.Response.Headers;
        headers.RetryAfter = Math.Ceiling(RetryAfterSeconds).ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Limit"] = "5";
        headers["X-RateLimit-Remaining"] = "0";
        headers["X-RateLimit-Reset"] = (Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0 + RetryAfterSeconds).ToString("F3", CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset-After"] = RetryAfterSeconds.ToString("F3", CultureInfo.InvariantCulture);
        headers["X-RateLimit-Bucket"] = "abcd1234abcd1234abcd1234abcd1234";
        headers["X-RateLimit-Scope"] = scope;
        return Json(429, new Dictionary<string, object?> { ["message"] = "You are being rate limited.", ["retry_after"] = RetryAfterSeconds, ["global"] = false });
    }

    private static Dictionary<string, object?> Error(string code, string? description) =>
        description is null ? new() { ["error"] = code } : new() { ["error"] = code, ["error_description"] = description };

    private static IResult Unauthorized() => Json(401, new Dictionary<string, object?> { ["message"] = "401: Unauthorized", ["code"] = 0 });
}
