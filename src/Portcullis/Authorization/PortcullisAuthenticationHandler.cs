using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Http;
using Portcullis.Sessions;
using Portcullis.Tokens;

namespace Portcullis.Authorization;

internal sealed class PortcullisAuthenticationOptions : AuthenticationSchemeOptions;

/// <summary>
/// The <c>Portcullis</c> scheme: the server-side session (resolved once per request) becomes a <see cref="ClaimsPrincipal"/>
/// with the session's user claims and one <c>scope</c> claim per granted scope, so ASP.NET Core authorization policies
/// (route requirements, <c>[Authorize]</c>, <c>RequireAuthorization</c>) can judge it. Challenges and refusals are API-style
/// JSON (401 <c>unauthenticated</c>, 403 <c>forbidden</c>), never a redirect to a login page (SECURITY.md item 33).
/// </summary>
internal sealed class PortcullisAuthenticationHandler(
    IOptionsMonitor<PortcullisAuthenticationOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    SessionService sessions,
    GrantService grants)
    : AuthenticationHandler<PortcullisAuthenticationOptions>(options, loggerFactory, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var session = await sessions.ResolveAsync(Context);
        if (session is null)
        {
            return AuthenticateResult.NoResult();
        }

        var identity = new ClaimsIdentity(Scheme.Name, "name", "role");
        identity.AddClaim(new Claim("sub", session.Data.Subject));
        foreach (var (type, value) in session.Data.Claims)
        {
            if (type != "sub")
            {
                AddClaims(identity, type, value);
            }
        }

        // The scopes the provider actually granted (they can be fewer than requested), from the encrypted grant.
        var tokens = await grants.ReadTokensAsync(session.Record.GrantId, Context.RequestAborted);
        foreach (var scope in (tokens?.Scope ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            identity.AddClaim(new Claim(PortcullisAuthenticationDefaults.ScopeClaimType, scope));
        }

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        ErrorResponses.Json(SessionService.RefusalFor(Context)).ExecuteAsync(Context);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ErrorResponses.Json(AuthorizationErrors.Forbidden(ForbiddenReasons.Read(Context))).ExecuteAsync(Context);

    /// <summary>Arrays become one claim per element; objects keep their JSON; strings, numbers and booleans their text.</summary>
    private static void AddClaims(ClaimsIdentity identity, string type, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    AddClaims(identity, type, item);
                }

                break;
            case JsonValueKind.String:
                identity.AddClaim(new Claim(type, value.GetString()!));
                break;
            case JsonValueKind.True or JsonValueKind.False:
                identity.AddClaim(new Claim(type, value.GetBoolean() ? "true" : "false", ClaimValueTypes.Boolean));
                break;
            case JsonValueKind.Null or JsonValueKind.Undefined:
                break;
            default:
                identity.AddClaim(new Claim(type, value.GetRawText(), value.ValueKind == JsonValueKind.Number ? ClaimValueTypes.Double : "JSON"));
                break;
        }
    }
}
