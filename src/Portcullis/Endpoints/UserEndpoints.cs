using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Audit;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Http;
using Portcullis.Primitives;
using Portcullis.Sessions;
using Portcullis.Tokens;

namespace Portcullis.Endpoints;

/// <summary><c>GET /bff/user</c> and <c>POST /bff/logout</c>.</summary>
internal static class UserEndpoints
{
    public static async Task<IResult> UserAsync(HttpContext context, SessionService sessions, SessionTokens tokens)
    {
        var session = await sessions.ResolveAsync(context);
        // A session whose tokens no longer decrypt is not signed in: never "signed in" while every API call would fail.
        if (session is null || tokens.Read(context, session) is null)
        {
            return ErrorResponses.Json(SessionService.RefusalFor(context));
        }

        var record = session.Record;
        return Results.Json(
            new UserResponse(
                session.Data.Subject,
                record.Provider,
                session.Data.Claims,
                new SessionInfo(record.Handle, record.CreatedAt, record.IdleExpiresAt, record.AbsoluteExpiresAt) { AuthTime = session.Data.AuthTime, Acr = session.Data.Acr })
            {
                UserId = record.UserId,
            },
            EndpointJsonContext.Default.UserResponse);
    }

    public static async Task<IResult> LogoutAsync(
        HttpContext context,
        SessionService sessions,
        SessionCookies cookies,
        SessionTermination termination,
        StatelessSessions stateless,
        ProviderRegistry providers,
        IOptions<PortcullisOptions> options,
        ILogger<SessionService> logger)
    {
        var returnUrl = context.Request.Query["returnUrl"].ToString();
        if (returnUrl.Length > 0 && !ReturnUrl.IsAllowed(returnUrl, options.Value.AllowedReturnHosts))
        {
            return ErrorResponses.Json(PortcullisError.InvalidRequest("returnUrl must be a path on this site, such as /."));
        }

        var everywhere = string.Equals(context.Request.Query["everywhere"], "true", StringComparison.OrdinalIgnoreCase);
        if (everywhere && sessions.RefuseWhenStateless("Logging out everywhere (POST /bff/logout?everywhere=true)") is { } refused)
        {
            // Nothing ended: the app can fall back to a plain logout.
            return ErrorResponses.Json(refused);
        }

        if (sessions.Stateless)
        {
            stateless.Expire(context);
        }
        else
        {
            cookies.ExpireSession(context.Response);
        }

        var session = await sessions.ResolveAsync(context);
        if (session is null)
        {
            return Results.Json(new LogoutResponse(returnUrl.Length > 0 ? returnUrl : null), EndpointJsonContext.Default.LogoutResponse);
        }

        sessions.Forget(context);
        if (session.Stateless)
        {
            await stateless.LogoutAsync(context, session);
        }
        else if (everywhere)
        {
            await termination.EndEverywhereAsync(session.Record.UserId);
        }
        else
        {
            await termination.EndAsync(session.Record, AuditEvents.Logout);
        }

        Log.LoggedOut(logger, session.Record.Handle, session.Record.UserId);
        var provider = providers.Find(session.Record.Provider);
        var logoutUrl = provider is null ? null : await EndSessionUrlAsync(provider, context.RequestAborted);
        return Results.Json(new LogoutResponse(logoutUrl ?? (returnUrl.Length > 0 ? returnUrl : null)), EndpointJsonContext.Default.LogoutResponse);
    }

    /// <summary>
    /// RP-initiated logout URL. It names the client with <c>client_id</c> rather than <c>id_token_hint</c>: the ID token
    /// would otherwise travel to the browser in a URL, which DESIGN.md invariant 1 forbids.
    /// </summary>
    private static async Task<string?> EndSessionUrlAsync(ProviderRuntime provider, CancellationToken cancellationToken)
    {
        try
        {
            var metadata = await provider.Metadata.GetConfigurationAsync(cancellationToken);
            if (string.IsNullOrEmpty(metadata.EndSessionEndpoint))
            {
                return null;
            }

            return Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(metadata.EndSessionEndpoint, new Dictionary<string, string?>
            {
                ["client_id"] = provider.Options.ClientId,
                ["post_logout_redirect_uri"] = provider.Options.PostLogoutRedirectUri,
            });
        }
        catch (Exception exception) when (exception is InvalidOperationException or IOException or HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }
}

internal sealed record UserResponse(string Sub, string Provider, Dictionary<string, JsonElement> Claims, SessionInfo Session)
{
    /// <summary>The gateway's id of the person, the same whichever linked provider they signed in with.</summary>
    public string? UserId { get; init; }
}

internal sealed record SessionInfo(string Handle, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset AbsoluteExpiresAt)
{
    /// <summary>When the user last authenticated at the provider (<c>auth_time</c>), when it said.</summary>
    public DateTimeOffset? AuthTime { get; init; }

    /// <summary>The authentication context class (<c>acr</c>) the provider reported.</summary>
    public string? Acr { get; init; }
}

internal sealed record LogoutResponse(string? LogoutUrl);

internal sealed record ProviderInfo(string Name, string DisplayName);

/// <summary>Where the app sends the browser to link another account (<c>POST /bff/link</c>).</summary>
internal sealed record LinkStart(string Url);

internal sealed record HealthReport(string Status, string Store);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(UserResponse))]
[System.Text.Json.Serialization.JsonSerializable(typeof(LogoutResponse))]
[System.Text.Json.Serialization.JsonSerializable(typeof(LinkStart))]
[System.Text.Json.Serialization.JsonSerializable(typeof(ProviderInfo[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(HealthReport))]
[System.Text.Json.Serialization.JsonSerializable(typeof(LivenessReport))]
[System.Text.Json.Serialization.JsonSerializable(typeof(ReadinessReport))]
[System.Text.Json.Serialization.JsonSerializable(typeof(SessionSummary[]))]
internal sealed partial class EndpointJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
