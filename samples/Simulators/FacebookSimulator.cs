using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Portcullis.Simulators;

/// <summary>
/// Facebook Login and the Graph API as documented at developers.facebook.com ("Manually Build a Login Flow",
/// "Long-Lived Access Tokens", "User", "User Permissions"), under the version prefix <see cref="Version"/>:
/// <c>/dialog/oauth</c> (redirects carry the fragment <c>#_=_</c>), <c>/oauth/access_token</c> (GET or POST;
/// code exchange and <c>fb_exchange_token</c>; no refresh tokens; errors as Graph <c>OAuthException</c> objects),
/// <c>GET /me?fields=…</c> and <c>DELETE /me/permissions</c>. A wrong <c>appsecret_proof</c> is refused.
/// </summary>
public sealed class FacebookSimulator : ProviderSimulator
{
    public const string Version = "v21.0";

    /// <summary>About two hours for tokens from the code exchange, 60 days for long-lived ones.</summary>
    public static readonly TimeSpan ShortLivedLifetime = TimeSpan.FromHours(2);

    public static readonly TimeSpan LongLivedLifetime = TimeSpan.FromDays(60);

    public FacebookSimulator(SimulatedClient client, IEnumerable<SimulatedUser>? users = null)
        : base(client, users ?? DefaultUsers())
    {
    }

    public override string AuthorizationPath => $"/{Version}/dialog/oauth";

    /// <summary>Base of the simulated Graph API (Facebook's <c>https://graph.facebook.com/v21.0</c>).</summary>
    public string ApiUrl => $"{Url}/graph/{Version}";

    /// <summary>Graph requests that carried an <c>appsecret_proof</c>.</summary>
    public int AppSecretProofsSeen => _proofs;

    private int _proofs;

    public static SimulatedUser[] DefaultUsers() =>
    [
        new("10158837210938541", "mark") { DisplayName = "Mark Example", Email = "mark@example.com" },
        new("10223344556677889", "priscilla") { DisplayName = "Priscilla Example", Email = null },
    ];

    protected override string RedirectSuffix => "#_=_";

    protected override IEnumerable<KeyValuePair<string, string?>> DeniedParameters() =>
    [
        new("error", "access_denied"),
        new("error_code", "200"),
        new("error_description", "Permissions error"),
        new("error_reason", "user_denied"),
    ];

    protected override void MapEndpoints(WebApplication app)
    {
        var graph = $"/graph/{Version}";
        app.MapMethods($"{graph}/oauth/access_token", ["GET", "POST"], (Delegate)TokenAsync);
        app.MapGet($"{graph}/me", (Delegate)MeAsync);
        app.MapDelete($"{graph}/me/permissions", (Delegate)RevokeAsync);
    }

    private async Task<IResult> TokenAsync(HttpContext context)
    {
        var parameters = await ParametersAsync(context.Request);
        var grantType = Value(parameters["grant_type"]) ?? "authorization_code";
        var style = context.Request.Method == "GET" ? "query" : "post";
        var (status, body) = Value(parameters["client_id"]) != Client.ClientId || Value(parameters["client_secret"]) != Client.ClientSecret
            ? (400, GraphError("Error validating client secret.", "OAuthException", 1, null))
            : grantType switch
            {
                "authorization_code" => RedeemCode(parameters),
                "fb_exchange_token" => Exchange(parameters),
                _ => (400, GraphError("Unsupported grant_type.", "OAuthException", 100, null)),
            };
        Observed.TokenRequests.Enqueue(new TokenRequestRecord(grantType, status, status == 200 ? null : "OAuthException", context.Request.Headers.Accept, style));
        return Json(status, body);
    }

    private (int, Dictionary<string, object?>) RedeemCode(IFormCollection parameters)
    {
        var code = Tokens.TakeCode(Value(parameters["code"]));
        if (code is null)
        {
            return (400, GraphError("This authorization code has been used.", "OAuthException", 100, 36009));
        }

        if (code.RedirectUri != Value(parameters["redirect_uri"]))
        {
            return (400, GraphError("Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request", "OAuthException", 100, 36008));
        }

        if (!TokenBook.VerifierMatches(code.CodeChallenge, Value(parameters["code_verifier"])))
        {
            return (400, GraphError("Invalid code verifier.", "OAuthException", 100, null));
        }

        var lifetime = AccessTokenLifetime ?? ShortLivedLifetime;
        var scope = string.Join(',', code.Scope.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries));
        return (200, new() { ["access_token"] = Tokens.IssueAccessToken(code.User, scope, lifetime, TokenBook.NewFamily(), "EAAG"), ["token_type"] = "bearer", ["expires_in"] = (int)lifetime.TotalSeconds });
    }

    private (int, Dictionary<string, object?>) Exchange(IFormCollection parameters)
    {
        if (Tokens.FindAccessToken(Value(parameters["fb_exchange_token"])) is not { } token)
        {
            return (400, GraphError("Invalid OAuth access token - Cannot parse access token", "OAuthException", 190, null));
        }

        return (200, new() { ["access_token"] = Tokens.IssueAccessToken(token.User, token.Scope, LongLivedLifetime, token.Family, "EAAG"), ["token_type"] = "bearer", ["expires_in"] = (int)LongLivedLifetime.TotalSeconds });
    }

    private async Task<IResult> MeAsync(HttpContext context)
    {
        var (token, error) = await AuthenticateAsync(context.Request);
        if (error is not null)
        {
            return error;
        }

        var user = token!.User;
        var fields = (Value(context.Request.Query["fields"]) ?? "id,name").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var body = new Dictionary<string, object?> { ["id"] = user.Id };
        foreach (var field in fields)
        {
            switch (field)
            {
                case "name":
                    body["name"] = user.DisplayName;
                    break;
                // Only with the email permission, and only when the account has a confirmed address.
                case "email" when token.HasScope("email") && user.Email is not null:
                    body["email"] = user.Email;
                    break;
                case "picture":
                    body["picture"] = new Dictionary<string, object?>
                    {
                        ["data"] = new Dictionary<string, object?> { ["height"] = 50, ["is_silhouette"] = false, ["url"] = $"https://platform-lookaside.fbsbx.com/platform/profilepic/?asid={user.Id}", ["width"] = 50 },
                    };
                    break;
            }
        }

        return Json(200, body);
    }

    private async Task<IResult> RevokeAsync(HttpContext context)
    {
        var (token, error) = await AuthenticateAsync(context.Request);
        if (error is not null)
        {
            return error;
        }

        // De-authorizes the app for this user: every token it holds stops working.
        var revoked = Tokens.RevokeUser(token!.User.Id);
        Observed.Revocations.Enqueue(new RevocationRecord("DELETE /me/permissions", null, token.User.Id, revoked));
        return Json(200, new Dictionary<string, object?> { ["success"] = true });
    }

    private async Task<(IssuedToken? Token, IResult? Error)> AuthenticateAsync(HttpRequest request)
    {
        Observed.ApiRequests.Enqueue($"{request.Method} {request.Path}");
        var parameters = await ParametersAsync(request);
        var accessToken = BearerToken(request) ?? Value(parameters["access_token"]);
        if (Tokens.FindAccessToken(accessToken) is not { } token)
        {
            return (null, Json(400, GraphError("Invalid OAuth access token - Cannot parse access token", "OAuthException", 190, null)));
        }

        if (Value(parameters["appsecret_proof"]) is { } proof)
        {
            Interlocked.Increment(ref _proofs);
            var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Client.ClientSecret), Encoding.UTF8.GetBytes(accessToken!)));
            if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(proof), Encoding.ASCII.GetBytes(expected)))
            {
                return (null, Json(400, GraphError("Invalid appsecret_proof provided in the API argument", "GraphMethodException", 100, null)));
            }
        }

        return (token, null);
    }

    /// <summary>Graph takes parameters from the query string or a form body alike.</summary>
    private static async Task<IFormCollection> ParametersAsync(HttpRequest request)
    {
        var values = request.Query.ToDictionary(q => q.Key, q => q.Value, StringComparer.Ordinal);
        if (request.HasFormContentType)
        {
            foreach (var (key, value) in await request.ReadFormAsync())
            {
                values[key] = value;
            }
        }

        return new FormCollection(values);
    }

    private static Dictionary<string, object?> GraphError(string message, string type, int code, int? subcode)
    {
        var error = new Dictionary<string, object?> { ["message"] = message, ["type"] = type, ["code"] = code };
        if (subcode is { } value)
        {
            error["error_subcode"] = value;
        }

        error["fbtrace_id"] = "AbCdEfGhIjKlMnOpQrStUv";
        return new() { ["error"] = error };
    }
}
