using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Audit;
using Portcullis.Authorization;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Http;
using Portcullis.Primitives;
using Portcullis.Sessions;
using Portcullis.Storage;
using Portcullis.Vault;

namespace Portcullis.Endpoints;

/// <summary>
/// The operator page (issue 19), on only when <c>Portcullis:Admin:Policy</c> names an access policy: <c>GET /bff/admin</c>
/// (a page and its script) and a JSON API under <c>/bff/admin/api</c> to find a user, see their sessions and grants
/// (metadata only: never a token, cookie value or session key), end one session or all of them (revoking at the
/// provider through the outbox), and see the last hour's refresh outcomes and the revocation queue. Every request is
/// admitted by the operator's own session and the policy before anything is read; every lookup and action is audited
/// under the operator's user id. The API takes the same anti-forgery check as every <c>/bff</c> JSON endpoint.
/// </summary>
internal static class AdminEndpoints
{
    private const int RefreshWindowLimit = 5000;

    // The audit detail of a lookup by e-mail: how the operator searched, never what for.
    private const string ByEmail = "by e-mail";

    public static void Map(RouteGroupBuilder bff, string policyName, PortcullisOptions options)
    {
        var admin = bff.MapGroup("/admin").AddEndpointFilter((context, next) =>
        {
            SecurityHeaders.NoStore(context.HttpContext.Response);
            return next(context);
        });
        // The page and its script name the API where BasePath puts it, with the configured anti-forgery header.
        var html = AdminPage.HtmlFor(options.BasePath);
        var script = AdminPage.ScriptFor(options.BasePath, options.Csrf.HeaderName);
        admin.MapGet("/", () => Results.Content(html, "text/html; charset=utf-8")).AddEndpointFilter(Admit(policyName));
        admin.MapGet("/admin.js", () => Results.Content(script, "text/javascript; charset=utf-8")).AddEndpointFilter(Admit(policyName));

        // The anti-forgery check first, as on every /bff JSON endpoint: a request without it must not make the gateway read
        // or touch the session, run the policy (which may call the provider) or log a refused operator.
        var api = admin.MapGroup("/api").AddEndpointFilter(async (context, next) =>
        {
            var guard = context.HttpContext.RequestServices.GetRequiredService<CsrfGuard>();
            return guard.Check(context.HttpContext.Request) is { } error ? ErrorResponses.Json(error) : await next(context);
        }).AddEndpointFilter(Admit(policyName));
        api.MapGet("/users", FindUserAsync);
        api.MapDelete("/users/{userId}/sessions/{handle}", EndSessionAsync);
        api.MapPost("/users/{userId}/logout", EndAllSessionsAsync);
        api.MapGet("/overview", OverviewAsync);
    }

    private static Func<EndpointFilterInvocationContext, EndpointFilterDelegate, ValueTask<object?>> Admit(string policyName) =>
        async (context, next) => await AdmitAsync(context.HttpContext, policyName) is { } refusal ? Refuse(context.HttpContext, refusal) : await next(context);

    /// <summary>The operator's session, then the policy, evaluated as for an API route; null when admitted.</summary>
    private static async Task<PortcullisError?> AdmitAsync(HttpContext context, string policyName)
    {
        var services = context.RequestServices;
        if (await services.GetRequiredService<SessionService>().ResolveAsync(context) is null)
        {
            return SessionService.RefusalFor(context);
        }

        var policy = await services.GetRequiredService<IAuthorizationPolicyProvider>().GetPolicyAsync(policyName)
            ?? throw new InvalidOperationException($"Portcullis:Admin:Policy names '{policyName}', which is not registered.");
        var (refusal, denied) = await PolicyCheck.CheckAsync(services.GetRequiredService<IPolicyEvaluator>(), policy, context);
        if (denied)
        {
            Log.AdminRefused(services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AdminEndpoints)));
        }

        return refusal;
    }

    /// <summary>The page gets a readable page; the script and the API get JSON.</summary>
    private static IResult Refuse(HttpContext context, PortcullisError refusal) =>
        context.Request.Path.Value?.TrimEnd('/').EndsWith("/admin", StringComparison.Ordinal) == true
            ? Results.Content(AdminPage.Refusal(refusal), "text/html; charset=utf-8", statusCode: refusal.StatusCode)
            : ErrorResponses.Json(refusal);

    /// <summary>The admitted operator's user id, from the session the gate resolved.</summary>
    private static string OperatorId(HttpContext context) => SessionFeature.Of(context)!.Session!.Record.UserId;

    /// <summary>
    /// <c>?provider=&amp;subject=</c> (the provider's subject), <c>?user=</c> (the gateway's user id) or <c>?email=</c>
    /// (found through the identities' keyed e-mail hashes, ADR 0039: 404 when nobody has it, 409 when two users do).
    /// The audit entry says "by e-mail", never the address.
    /// </summary>
    private static async Task<IResult> FindUserAsync(
        HttpContext context, IUserStore users, ISessionStore sessions, IGrantStore grants, ProviderRegistry providers, AuditLog audit,
        EmailLookupHasher emailHasher, TimeProvider time)
    {
        var query = context.Request.Query;
        string? userId = query["user"];
        string? detail = null;
        if (userId is null && query["email"].ToString() is { Length: > 0 } email)
        {
            detail = ByEmail;
            var candidates = emailHasher.Candidates(email);
            var owners = candidates.Count == 0 ? [] : await users.FindUsersByEmailHashAsync(candidates, context.RequestAborted);
            if (owners.Count > 1)
            {
                await audit.RecordAsync(AuditEvents.AdminLookup, AuditOutcomes.Failed, actor: OperatorId(context), detail: ByEmail + ": ambiguous");
                return ErrorResponses.Json(new PortcullisError(
                    409, "ambiguous", $"{owners.Count} users have this e-mail address. Find each by provider and subject."));
            }

            userId = owners.Count == 1 ? owners[0] : null;
        }
        else if (userId is null)
        {
            if (query["provider"].ToString() is not { Length: > 0 } provider || query["subject"].ToString() is not { Length: > 0 } subject)
            {
                return ErrorResponses.Json(PortcullisError.InvalidRequest("Give provider and subject, user, or email."));
            }

            userId = (await users.FindUserAsync(provider, subject, context.RequestAborted))?.Id;
        }

        var identities = userId is null ? [] : await users.GetIdentitiesAsync(userId, context.RequestAborted);
        await audit.RecordAsync(
            AuditEvents.AdminLookup, identities.Count > 0 ? AuditOutcomes.Success : AuditOutcomes.Failed, userId, actor: OperatorId(context), detail: detail);
        if (identities.Count == 0)
        {
            return ErrorResponses.Json(new PortcullisError(404, "not_found", "No such user."));
        }

        var now = time.GetUtcNow();
        var records = await sessions.ListSessionsForUserAsync(userId!, now, context.RequestAborted);
        var grantRecords = new Dictionary<string, GrantRecord>(StringComparer.Ordinal);
        foreach (var grantId in records.Select(r => r.GrantId).Distinct(StringComparer.Ordinal))
        {
            if (await grants.GetGrantAsync(grantId, context.RequestAborted) is { } grant)
            {
                grantRecords[grant.Id] = grant;
            }
        }

        foreach (var provider in providers.All)
        {
            if (await grants.FindGrantAsync(userId!, provider.Name, context.RequestAborted) is { } grant)
            {
                grantRecords.TryAdd(grant.Id, grant);
            }
        }

        var found = new AdminUser(
            userId!,
            [.. identities.Select(i => new AdminIdentity(i.Provider, i.Subject, i.CreatedAt))],
            [.. records.Select(r => new AdminSession(r.Handle, r.Provider, r.CreatedAt, r.LastSeenAt, r.IdleExpiresAt, r.AbsoluteExpiresAt))],
            [.. grantRecords.Values.Select(g => new AdminGrant(
                g.Provider, g.HasRefreshToken, g.Offline, g.AccessTokenExpiresAt, g.UpdatedAt, records.Count(r => r.GrantId == g.Id)))]);
        return Results.Json(found, AdminJsonContext.Default.AdminUser);
    }

    private static async Task<IResult> EndSessionAsync(
        string userId, string handle, HttpContext context, ISessionStore sessions, SessionTermination termination, TimeProvider time)
    {
        var records = await sessions.ListSessionsForUserAsync(userId, time.GetUtcNow(), context.RequestAborted);
        if (records.FirstOrDefault(r => string.Equals(r.Handle, handle, StringComparison.Ordinal)) is not { } target)
        {
            return ErrorResponses.Json(new PortcullisError(404, "not_found", "This user has no session with this handle."));
        }

        await termination.EndAsync(target, AuditEvents.AdminSessionEnded, actor: OperatorId(context));
        return Results.NoContent();
    }

    private static async Task<IResult> EndAllSessionsAsync(string userId, HttpContext context, IUserStore users, SessionTermination termination)
    {
        if ((await users.GetIdentitiesAsync(userId, context.RequestAborted)).Count == 0)
        {
            return ErrorResponses.Json(new PortcullisError(404, "not_found", "No such user."));
        }

        var ended = await termination.EndEverywhereAsync(userId, operatorId: OperatorId(context));
        return Results.Json(new AdminEnded(ended), AdminJsonContext.Default.AdminEnded);
    }

    /// <summary>Refresh outcomes of the last hour (from the audit log, so every node's) and the revocation queue.</summary>
    private static async Task<IResult> OverviewAsync(HttpContext context, AuditLog audit, IRevocationOutbox outbox, TimeProvider time)
    {
        var since = time.GetUtcNow().AddHours(-1);
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var complete = true;
        foreach (var auditEvent in new[] { AuditEvents.Refresh, AuditEvents.RefreshFailed, AuditEvents.ReauthenticationRequired })
        {
            var entries = await audit.QueryAsync(new AuditQuery(Event: auditEvent, Since: since, Limit: RefreshWindowLimit), context.RequestAborted);
            complete &= entries.Count < RefreshWindowLimit;
            foreach (var entry in entries)
            {
                var key = $"{entry.Event}: {entry.Outcome}";
                outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
            }
        }

        var pending = await outbox.CountPendingRevocationsAsync(context.RequestAborted);
        return Results.Json(new AdminOverview(outcomes, complete, pending), AdminJsonContext.Default.AdminOverview);
    }
}

internal sealed record AdminIdentity(string Provider, string Subject, DateTimeOffset LinkedAt);

internal sealed record AdminSession(
    string Handle, string Provider, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, DateTimeOffset IdleExpiresAt, DateTimeOffset AbsoluteExpiresAt);

/// <summary>
/// A grant's metadata; its id is left out (it names the grant's lease and rows, nothing an operator needs).
/// <c>Offline</c> marks the grant kept for workers when the user has no session (<c>Tokens:OfflineAccess</c>).
/// </summary>
internal sealed record AdminGrant(
    string Provider, bool HasRefreshToken, bool Offline, DateTimeOffset? AccessTokenExpiresAt, DateTimeOffset UpdatedAt, int Sessions);

internal sealed record AdminUser(string Id, AdminIdentity[] Identities, AdminSession[] Sessions, AdminGrant[] Grants);

internal sealed record AdminEnded(int Ended);

/// <param name="RefreshOutcomes">Audited refresh events of the last hour by event and outcome.</param>
/// <param name="Complete">False when an event had more entries than were counted.</param>
/// <param name="RevocationsPending">Tokens queued for revocation at their provider.</param>
internal sealed record AdminOverview(SortedDictionary<string, int> RefreshOutcomes, bool Complete, long RevocationsPending);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(AdminUser))]
[System.Text.Json.Serialization.JsonSerializable(typeof(AdminEnded))]
[System.Text.Json.Serialization.JsonSerializable(typeof(AdminOverview))]
internal sealed partial class AdminJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
