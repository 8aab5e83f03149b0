using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Portcullis.Simulators;

/// <summary>
/// A provider's OAuth endpoints on Kestrel, on a free loopback port. The authorization endpoint shows a small login
/// form (any simulated user, password <see cref="Password"/>) or approves at once as <see cref="AutoApproveAs"/>;
/// each subclass adds the provider's token, user and revocation endpoints in its documented wire format.
/// Everything is in memory and observable through <see cref="Observed"/>.
/// </summary>
public abstract class ProviderSimulator : IAsyncDisposable
{
    public const string Password = "password";

    private const string LoginPath = "/__simulator/login";

    private static readonly string[] AuthorizationFields = ["client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "response_type"];

    private WebApplication? _app;

    protected ProviderSimulator(SimulatedClient client, IEnumerable<SimulatedUser> users)
    {
        Client = client;
        foreach (var user in users)
        {
            Users[user.Username] = user;
        }

        Tokens = new TokenBook(Observed);
    }

    /// <summary>The simulator's origin, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string Url { get; private set; } = string.Empty;

    public SimulatedClient Client { get; }

    /// <summary>The provider's accounts by username; tests may add users or change guild roles while running.</summary>
    public ConcurrentDictionary<string, SimulatedUser> Users { get; } = new(StringComparer.Ordinal);

    public SimulatorObservations Observed { get; } = new();

    /// <summary>When set, the authorization endpoint approves at once as this username instead of showing the login form.</summary>
    public string? AutoApproveAs { get; set; }

    /// <summary>When true, the next authorization ends as if the user pressed "Cancel".</summary>
    public bool DenyNextAuthorization { get; set; }

    /// <summary>Overrides the provider's access-token lifetime (tests use seconds to reach a refresh).</summary>
    public TimeSpan? AccessTokenLifetime { get; set; }

    internal TokenBook Tokens { get; }

    /// <summary>
    /// The provider's clock, deciding when codes and access tokens expire. Tests share a fake clock with the gateway
    /// to move both past a token's lifetime without waiting. The default value is <see cref="TimeProvider.System"/>.
    /// </summary>
    public TimeProvider Time
    {
        get => Tokens.Time;
        set => Tokens.Time = value;
    }

    /// <summary>As if the user withdrew the app in the provider's settings: every token of theirs stops working.</summary>
    public int RevokeUserAuthorization(string userId) => Tokens.RevokeUser(userId);

    /// <summary>Whether an access or refresh token issued here is still accepted.</summary>
    public bool IsTokenActive(string token) => Tokens.FindAny(token) is not null;

    /// <summary>Path of the authorization endpoint on this host.</summary>
    public abstract string AuthorizationPath { get; }

    public string AuthorizationEndpoint => Url + AuthorizationPath;

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet(AuthorizationPath, Authorize);
        app.MapPost(LoginPath, (Delegate)LoginAsync);
        MapEndpoints(app);
        await app.StartAsync();
        _app = app;
        Url = app.Urls.First().TrimEnd('/');
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>The provider's token, user, revocation and other endpoints.</summary>
    protected abstract void MapEndpoints(WebApplication app);

    /// <summary>Query parameters of the redirect when the user cancels, in the provider's words.</summary>
    protected abstract IEnumerable<KeyValuePair<string, string?>> DeniedParameters();

    /// <summary>What the provider appends to its redirect (Facebook adds the fragment <c>#_=_</c>).</summary>
    protected virtual string RedirectSuffix => string.Empty;

    /// <summary>Whether the authorization request is acceptable beyond client and redirect URI; an error message when not.</summary>
    protected virtual string? CheckAuthorizationRequest(IReadOnlyDictionary<string, string?> request) => null;

    private IResult Authorize(HttpContext context)
    {
        var request = AuthorizationFields.ToDictionary(f => f, f => (string?)context.Request.Query[f].ToString(), StringComparer.Ordinal);
        if (request["client_id"] != Client.ClientId || !Client.RedirectUris.Contains(request["redirect_uri"]))
        {
            // Providers never redirect to an unregistered URI; they show an error page instead.
            return Page(HttpStatusCode.BadRequest, "Invalid OAuth2 request", "<p id=\"error\">The client_id or redirect_uri is not registered.</p>");
        }

        if (CheckAuthorizationRequest(request) is { } problem)
        {
            return Page(HttpStatusCode.BadRequest, "Invalid OAuth2 request", $"<p id=\"error\">{WebUtility.HtmlEncode(problem)}</p>");
        }

        if (DenyNextAuthorization)
        {
            DenyNextAuthorization = false;
            return Results.Redirect(QueryHelpers.AddQueryString(request["redirect_uri"]!, DeniedParameters().Append(new("state", request["state"]))));
        }

        if (AutoApproveAs is { } username && Users.TryGetValue(username, out var user))
        {
            return Approve(user, request);
        }

        var hidden = string.Concat(request.Where(f => !string.IsNullOrEmpty(f.Value))
            .Select(f => $"<input type=\"hidden\" name=\"{WebUtility.HtmlEncode(f.Key)}\" value=\"{WebUtility.HtmlEncode(f.Value)}\">"));
        return Page(HttpStatusCode.OK, $"Sign in to {GetType().Name.Replace("Simulator", string.Empty, StringComparison.Ordinal)}", $"""
            <form method="post" action="{LoginPath}" id="login-form">{hidden}
            <label for="username">Username</label><input name="username" id="username">
            <label for="password">Password</label><input name="password" id="password" type="password">
            <button id="login" type="submit">Authorize</button></form>
            """);
    }

    private async Task<IResult> LoginAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        var request = AuthorizationFields.ToDictionary(f => f, f => (string?)form[f].ToString(), StringComparer.Ordinal);
        if (request["client_id"] != Client.ClientId || !Client.RedirectUris.Contains(request["redirect_uri"]))
        {
            return Page(HttpStatusCode.BadRequest, "Invalid OAuth2 request", "<p id=\"error\">The client_id or redirect_uri is not registered.</p>");
        }

        if (!Users.TryGetValue(form["username"].ToString(), out var user) || form["password"] != Password)
        {
            return Page(HttpStatusCode.OK, "Sign in", $"""
                <p id="error" role="alert">Incorrect username or password.</p>
                <form method="post" action="{LoginPath}" id="login-form">
                {string.Concat(request.Where(f => !string.IsNullOrEmpty(f.Value)).Select(f => $"<input type=\"hidden\" name=\"{WebUtility.HtmlEncode(f.Key)}\" value=\"{WebUtility.HtmlEncode(f.Value)}\">"))}
                <input name="username" id="username"><input name="password" id="password" type="password"><button type="submit">Authorize</button></form>
                """);
        }

        return Approve(user, request);
    }

    private IResult Approve(SimulatedUser user, IReadOnlyDictionary<string, string?> request)
    {
        var challenge = request["code_challenge_method"] is "S256" && !string.IsNullOrEmpty(request["code_challenge"]) ? request["code_challenge"] : null;
        var code = Tokens.IssueCode(user, request["redirect_uri"]!, request["scope"] ?? string.Empty, challenge);
        var target = QueryHelpers.AddQueryString(request["redirect_uri"]!, new Dictionary<string, string?> { ["code"] = code, ["state"] = request["state"] });
        return Results.Redirect(target + RedirectSuffix);
    }

    /// <summary>Client credentials from HTTP Basic (RFC 6749 §2.3.1) or the body; which styles count is up to the provider.</summary>
    protected static (string? Id, string? Secret, string Style) ClientCredentials(HttpRequest request, IFormCollection form)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim())).Split(':', 2);
                return (Uri.UnescapeDataString(decoded[0]), decoded.Length > 1 ? Uri.UnescapeDataString(decoded[1]) : null, "basic");
            }
            catch (FormatException)
            {
                return (null, null, "basic");
            }
        }

        return (Value(form["client_id"]), Value(form["client_secret"]), form.ContainsKey("client_secret") ? "post" : "none");
    }

    protected bool IsClient(string? id, string? secret) => id == Client.ClientId && secret == Client.ClientSecret;

    /// <summary>The bearer token of an API request (<c>Bearer</c>, or GitHub's and Facebook's older <c>token</c>/<c>OAuth</c> schemes).</summary>
    protected static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        foreach (var scheme in new[] { "Bearer ", "token ", "OAuth " })
        {
            if (header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                return header[scheme.Length..].Trim();
            }
        }

        return null;
    }

    protected static string? Value(StringValues values) => values.Count == 1 && values[0] is { Length: > 0 } value ? value : null;

    protected static IResult Json(int status, object body) => Results.Json(body, statusCode: status);

    private static IResult Page(HttpStatusCode status, string title, string body) => Results.Content(
        $"<!doctype html><html><head><meta charset=\"utf-8\"><title>{WebUtility.HtmlEncode(title)}</title></head><body><h1>{WebUtility.HtmlEncode(title)}</h1>{body}</body></html>",
        "text/html; charset=utf-8",
        Encoding.UTF8,
        (int)status);
}
