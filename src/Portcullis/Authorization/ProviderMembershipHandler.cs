using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Portcullis.Agent;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Sessions;
using Portcullis.Storage;
using Portcullis.Tokens;

namespace Portcullis.Authorization;

/// <summary>
/// Judges <see cref="DiscordGuildRequirement"/> and <see cref="GitHubMembershipRequirement"/> by asking the provider with
/// the user's own access token (the session's grant, or the grant of a linked identity at that provider). Answers are
/// cached (<see cref="MembershipCache"/>); when the provider cannot answer (429, outage) nobody is admitted on a guess and
/// nothing about the session changes: the request gets 503 <c>provider_unavailable</c> with <c>Retry-After</c>.
/// </summary>
internal sealed class ProviderMembershipHandler(
    SessionService sessions,
    IGrantStore store,
    ProviderRegistry providers,
    AccessTokenService accessTokens,
    SessionTokens sessionTokens,
    IHttpClientFactory httpClientFactory,
    MembershipCache cache,
    ILogger<ProviderMembershipHandler> logger) : IAuthorizationHandler
{
    public async Task HandleAsync(AuthorizationHandlerContext context)
    {
        foreach (var requirement in context.PendingRequirements.ToList())
        {
            var decision = requirement switch
            {
                DiscordGuildRequirement discord => await JudgeAsync(context, discord.Provider, ProviderKinds.Discord, discord.CacheKey, discord.ToString(),
                    (http, provider, token, ct) => DiscordMembership.AskAsync(http, provider, token, discord, ct)),
                GitHubMembershipRequirement gitHub => await JudgeAsync(context, gitHub.Provider, ProviderKinds.GitHub, gitHub.CacheKey, gitHub.ToString(),
                    (http, provider, token, ct) => GitHubMembership.AskAsync(http, provider, token, context.User.FindFirst("login")?.Value, gitHub, ct)),
                _ => null,
            };
            if (decision is null)
            {
                continue;
            }

            if (decision.Admitted)
            {
                context.Succeed(requirement);
            }
            else if (decision.RetryAfterSeconds is { } retryAfter)
            {
                var reason = new ProviderUnavailableFailureReason(this, decision.Reason!, retryAfter);
                ForbiddenReasons.AddDeferred(context, reason);
                context.Fail(reason);
            }
            else
            {
                ForbiddenReasons.Add(context, decision.Reason!);
                context.Fail(new AuthorizationFailureReason(this, decision.Reason!));
            }
        }
    }

    private async Task<MembershipDecision> JudgeAsync(
        AuthorizationHandlerContext context,
        string? providerName,
        string kind,
        string requirementKey,
        string description,
        Func<HttpClient, ProviderRuntime, string, CancellationToken, Task<MembershipDecision>> ask)
    {
        // Endpoint routing ([Authorize], RequireAuthorization, the proxy) passes the request as the resource; code calling
        // IAuthorizationService itself must too, because the check uses that request's session.
        var httpContext = context.Resource as HttpContext
            ?? throw new InvalidOperationException($"Authorize {description} with the HttpContext as the resource: AuthorizeAsync(User, HttpContext, policy).");
        var provider = providerName is null ? providers.All.SingleOrDefault(p => p.Options.Kind == kind) : providers.Find(providerName);
        var displayName = provider?.Options.DisplayName ?? kind;
        if (provider is null || await sessions.ResolveAsync(httpContext) is not { } session)
        {
            return MembershipDecision.Refuse($"Sign in with {displayName} to use this page.");
        }

        var grantId = session.Record.Provider == provider.Name
            ? session.Record.GrantId
            // A stateless session has no linked identities: only the one it signed in with (ADR 0033).
            : session.Stateless ? null : (await store.FindGrantAsync(session.Record.UserId, provider.Name, httpContext.RequestAborted))?.Id;
        if (grantId is null)
        {
            return MembershipDecision.Refuse($"Sign in with {displayName} to use this page.");
        }

        var token = session.Stateless
            ? await sessionTokens.GetAccessTokenAsync(httpContext, session, audience: null, httpContext.RequestAborted)
            : await accessTokens.GetAccessTokenAsync(grantId, httpContext.RequestAborted);
        if (token.Error is { } error)
        {
            return error.StatusCode >= 500
                ? MembershipDecision.Unavailable(error.Message, error.RetryAfterSeconds ?? 5)
                : MembershipDecision.Refuse($"{displayName} no longer accepts this sign-in; sign in again.") with { IsAnswer = false };
        }

        var key = MembershipCache.Key(grantId, token.Value!, requirementKey);
        if (cache.Find(key) is { } cached)
        {
            return cached;
        }

        MembershipDecision decision;
        try
        {
            decision = await ask(httpClientFactory.CreateClient(ProviderRegistry.HttpClientName), provider, token.Value!, httpContext.RequestAborted);
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception) && !httpContext.RequestAborted.IsCancellationRequested)
        {
            decision = MembershipDecision.Unavailable($"{displayName} could not be reached to check your membership. Try again shortly.", 5);
        }

        if (decision.RetryAfterSeconds is { } seconds)
        {
            Log.MembershipUnavailable(logger, provider.Name, description, 0, seconds);
        }
        else
        {
            Log.MembershipChecked(logger, session.Record.UserId, provider.Name, description, decision.Admitted ? "admitted" : "refused");
        }

        cache.Remember(key, decision);
        return decision;
    }
}
