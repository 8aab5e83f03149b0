using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Portcullis.Http;
using Portcullis.Sessions;
using Portcullis.Tokens;

namespace Portcullis.Authorization;

/// <summary>
/// The <c>Portcullis</c> scheme: the server-side session (resolved once per request) becomes a <see cref="ClaimsPrincipal"/>
/// with the session's user claims and one <c>scope</c> claim per granted scope, so ASP.NET Core authorization policies
/// (route requirements, <c>[Authorize]</c>, <c>RequireAuthorization</c>) can judge it. Challenges and refusals are API-style
/// JSON (401 <c>unauthenticated</c>, 403 <c>forbidden</c>), never a redirect to a login page (SECURITY.md item 33).
/// </summary>
/// <remarks>
/// A plain <see cref="IAuthenticationHandler"/> rather than <c>AuthenticationHandler&lt;T&gt;</c>, whose first answer is
/// memoised for the request: as the only scheme it is ASP.NET's automatic default, and <c>WebApplication</c> then runs
/// authentication middleware before anything else — before routing, forwarded headers and the store-outage handling. That
/// early call is answered "no result" without touching the session; the policy evaluated after routing gets the real answer.
/// </remarks>
internal sealed class PortcullisAuthenticationHandler(SessionService sessions, SessionTokens sessionTokens) : IAuthenticationHandler
{
    private AuthenticationScheme _scheme = null!;
    private HttpContext _context = null!;
    private AuthenticateResult? _result;

    public Task InitializeAsync(AuthenticationScheme scheme, HttpContext context)
    {
        _scheme = scheme;
        _context = context;
        return Task.CompletedTask;
    }

    public async Task<AuthenticateResult> AuthenticateAsync()
    {
        if (_context.GetEndpoint() is null)
        {
            return AuthenticateResult.NoResult();
        }

        return _result ??= await AuthenticateSessionAsync();
    }

    private const string AuthTimeClaimType = PortcullisAuthenticationDefaults.AuthTimeClaimType;
    private const string AcrClaimType = PortcullisAuthenticationDefaults.AcrClaimType;

    public Task ChallengeAsync(AuthenticationProperties? properties) =>
        ErrorResponses.Json(SessionService.RefusalFor(_context)).ExecuteAsync(_context);

    public Task ForbidAsync(AuthenticationProperties? properties) =>
        ErrorResponses.Json(ForbiddenReasons.ErrorFor(_context)).ExecuteAsync(_context);

    private async Task<AuthenticateResult> AuthenticateSessionAsync()
    {
        var session = await sessions.ResolveAsync(_context);
        if (session is null)
        {
            return AuthenticateResult.NoResult();
        }

        var identity = new ClaimsIdentity(_scheme.Name, "name", "role");
        identity.AddClaim(new Claim("sub", session.Data.Subject));
        foreach (var (type, value) in session.Data.Claims)
        {
            // Scopes come only from the grant, auth_time and acr only from what the validated ID token said (below),
            // whatever a stored claim set of an older session may hold.
            if (type is not ("sub" or AuthTimeClaimType or AcrClaimType or PortcullisAuthenticationDefaults.ScopeClaimType))
            {
                AddClaims(identity, type, value);
            }
        }

        // What the session recorded from the validated ID token of the (last step-up) login: step-up policies judge these.
        if (session.Data.AuthTime is { } authTime)
        {
            identity.AddClaim(new Claim(AuthTimeClaimType, authTime.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), ClaimValueTypes.Integer64));
        }

        if (session.Data.Acr is { } acr)
        {
            identity.AddClaim(new Claim(AcrClaimType, acr));
        }

        // The scopes the provider actually granted (they can be fewer than requested), from the encrypted grant.
        var tokens = sessionTokens.Read(_context, session);
        foreach (var scope in (tokens?.Scope ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            identity.AddClaim(new Claim(PortcullisAuthenticationDefaults.ScopeClaimType, scope));
        }

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), _scheme.Name));
    }

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
