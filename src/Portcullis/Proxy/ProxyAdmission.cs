using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Portcullis.Authorization;
using Portcullis.Diagnostics;
using Portcullis.Http;
using Portcullis.Primitives;
using Portcullis.Sessions;
using Portcullis.Tokens;

namespace Portcullis.Proxy;

/// <summary>
/// What a request must pass before a token is handed out for it, in this order: the anti-forgery check (the origin check
/// alone for WebSocket upgrades), the path-safety check, then the session, the route's requirements and its token
/// (refreshed when due). One implementation for the built-in proxy and for forward-auth (issue 20), so a front proxy
/// asking about a request gets exactly the answer the proxy would have given it.
/// </summary>
/// <remarks>The logger keeps the proxy's category: the events are the proxy's, whichever door the request came through.</remarks>
internal sealed class ProxyAdmission(
    CsrfGuard csrf,
    SessionService sessions,
    SessionTokens tokens,
    ClientTokenService clientTokens,
    IdentityAssertions assertions,
    IPolicyEvaluator policies,
    BearerPassThrough bearers,
    ILogger<ApiProxy> logger)
{
    /// <summary>The checks that need no session; <paramref name="target"/> is the request being judged (the original one for forward-auth).</summary>
    public PortcullisError? Admit(HttpContext context, ApiRoute route, AdmissionTarget target)
    {
        // Browsers cannot add a custom header to a WebSocket handshake, but always send Origin with it: at the upgrade
        // the origin check stands in for the X-CSRF header. A caller with its own token and no session cookie brings no
        // ambient credential a foreign page could borrow: there is nothing to forge (ADR 0042); nor does one with no
        // credential at all on a bearer route that needs a user, which is answered with a Bearer challenge (ADR 0044).
        if (!bearers.BringsNoAmbientCredential(context, route)
            && (target.Upgrade ? csrf.CheckUpgrade(context.Request) : csrf.Check(context.Request)) is { } csrfError)
        {
            return csrfError;
        }

        if (target.Upgrade && !route.WebSockets)
        {
            Log.ProxyRequestRefused(logger, route.Name, "WebSocket upgrade on a route without WebSockets");
            return PortcullisError.InvalidRequest("This API route does not accept WebSocket connections.");
        }

        if (RequestPathSafety.IsAmbiguous(target.RawTarget, target.Path))
        {
            Log.ProxyRequestRefused(logger, route.Name, "ambiguous path");
            return PortcullisError.InvalidRequest("The path contains an encoded slash, backslash or dot segment, or an empty segment.");
        }

        return null;
    }

    /// <summary>The token the route sends for this request (none for <c>none</c> and anonymous <c>user-optional</c> calls), or why there is none.</summary>
    public async ValueTask<ProxyCredential> ResolveCredentialAsync(HttpContext context, ApiRoute route)
    {
        if (bearers.TokenOf(context, route) is { } callerToken)
        {
            return await bearers.ResolveAsync(context, route, callerToken);
        }

        switch (route.TokenMode)
        {
            case Configuration.ApiTokenModes.None:
                return default;
            case Configuration.ApiTokenModes.Client:
                var clientToken = await clientTokens.GetAsync(route.ClientToken!, context.RequestAborted);
                return new ProxyCredential(clientToken.Value?.AccessToken, null, clientToken.Error, clientToken.Value?.DPoPKey);
        }

        var session = await sessions.ResolveAsync(context);
        if (session is null)
        {
            return route.TokenMode is Configuration.ApiTokenModes.User or Configuration.ApiTokenModes.Assertion
                ? new ProxyCredential(null, null, BearerPassThrough.Challenge(route, SessionService.RefusalFor(context)))
                : default;
        }

        if (route.Policy is { } policy && await AuthorizeAsync(context, route, policy) is { } denied)
        {
            return new ProxyCredential(null, null, denied);
        }

        if (route.TokenMode == Configuration.ApiTokenModes.Assertion)
        {
            // No provider token leaves for this upstream: the gateway vouches for the user itself.
            return assertions.Create(session, route) is { } assertion
                ? new ProxyCredential(null, session, null) { Assertion = assertion }
                : new ProxyCredential(null, session, AssertionsUnavailable);
        }

        // A route with its own audience gets the grant's token for that API alone (ADR 0043).
        var token = await tokens.GetAccessTokenAsync(context, session, route.Audience, context.RequestAborted);
        // The grant's DPoP key never changes with a refresh: the grant read with the session holds it.
        var dpopKey = token.Error is null ? tokens.Read(context, session)?.DPoPKey : null;
        return new ProxyCredential(token.Value, session, token.Error, dpopKey);
    }

    /// <summary>Evaluates the route's compiled policy with ASP.NET Core authorization, as the middleware would for an endpoint.</summary>
    private async Task<PortcullisError?> AuthorizeAsync(HttpContext context, ApiRoute route, AuthorizationPolicy policy)
    {
        var (refusal, denied) = await PolicyCheck.CheckAsync(policies, policy, context);
        if (denied)
        {
            Log.RouteForbidden(logger, route.Name, refusal!.Message);
        }

        return refusal;
    }

    private static PortcullisError AssertionsUnavailable { get; } = new(503, "assertions_unavailable", "The gateway has no key to sign identity assertions with.");
}

/// <summary>The request admission judges: its raw target and decoded path, and whether it is a WebSocket handshake.</summary>
internal readonly record struct AdmissionTarget(string RawTarget, string Path, bool Upgrade);

/// <summary>The token a request is forwarded with, the session it came from (null for client and anonymous calls), or why it may not go on.</summary>
internal readonly record struct ProxyCredential(string? AccessToken, CurrentSession? Session, PortcullisError? Error, string? DPoPKey = null)
{
    /// <summary>For <c>Token: assertion</c> routes: the gateway's signed statement of who the user is, instead of a token.</summary>
    public string? Assertion { get; init; }

    /// <summary>The caller's own token, forwarded as it came (bearer pass-through): the gateway cannot renew it, so an upstream 401 passes through.</summary>
    public bool PassThrough { get; init; }
}
