using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Configuration;
using Portcullis.Diagnostics;
using Portcullis.Http;
using Portcullis.Primitives;
using Portcullis.Sessions;
using Portcullis.Storage;

namespace Portcullis.Endpoints;

/// <summary><c>GET /bff/login</c> and <c>GET /bff/callback/{provider}</c>: the browser-facing half of the OAuth agent.</summary>
internal static class LoginEndpoints
{
    public static async Task<IResult> LoginAsync(
        HttpContext context, ProviderRegistry providers, OAuthAgent agent, SessionCookies cookies, SessionService sessions, IOptions<PortcullisOptions> options)
    {
        SecurityHeaders.NoReferrerNoStore(context.Response);
        var (provider, returnUrl, problem) = ReadTarget(context, providers, options.Value.AllowedReturnHosts);
        if (problem is not null)
        {
            return ErrorResponses.ForNavigation(context, problem);
        }

        var extras = await LoginRequestParser.ParseAsync(context, provider!, sessions);
        if (extras.Error is { } extrasError)
        {
            return ErrorResponses.ForNavigation(context, extrasError);
        }

        var start = await StartAsync(context, agent, cookies, provider!, returnUrl!, extras.Value!);
        return start.Error is { } error ? ErrorResponses.ForNavigation(context, error) : Results.Redirect(start.Value!);
    }

    /// <summary>
    /// <c>POST /bff/link?provider=..&amp;returnUrl=..</c> (JSON endpoint, anti-forgery header required): starts a login
    /// that adds the identity it proves to the signed-in user, and answers <c>{"url": ...}</c> for the app to navigate
    /// to. A POST from the gateway's own origin only, with forced re-authentication at the provider (issue 17 item 3).
    /// </summary>
    public static async Task<IResult> LinkAsync(
        HttpContext context, ProviderRegistry providers, OAuthAgent agent, SessionCookies cookies, SessionService sessions, IOptions<PortcullisOptions> options)
    {
        if (sessions.RefuseWhenStateless("Linking another account (POST /bff/link)") is { } refused)
        {
            return ErrorResponses.Json(refused);
        }

        var (provider, returnUrl, problem) = ReadTarget(context, providers, options.Value.AllowedReturnHosts);
        if (problem is not null)
        {
            return ErrorResponses.Json(problem);
        }

        var extras = await LoginRequestParser.ParseLinkAsync(context, options.Value.PublicOrigin!, sessions);
        if (extras.Error is { } extrasError)
        {
            return ErrorResponses.Json(extrasError);
        }

        var start = await StartAsync(context, agent, cookies, provider!, returnUrl!, extras.Value!);
        return start.Error is { } error
            ? ErrorResponses.Json(error)
            : Results.Json(new LinkStart(start.Value!), EndpointJsonContext.Default.LinkStart);
    }

    private static (ProviderRuntime? Provider, string? ReturnUrl, PortcullisError? Problem) ReadTarget(
        HttpContext context, ProviderRegistry providers, IReadOnlyCollection<string> siblingHosts)
    {
        var query = context.Request.Query;
        var returnUrl = query["returnUrl"].Count == 0 ? ReturnUrl.Default : query["returnUrl"].ToString();
        if (query["returnUrl"].Count > 1 || !ReturnUrl.IsAllowed(returnUrl, siblingHosts))
        {
            return (null, null, PortcullisError.InvalidRequest("returnUrl must be a path on this site, such as /orders."));
        }

        return providers.Find(query["provider"].ToString()) is { } provider
            ? (provider, returnUrl, null)
            : (null, null, PortcullisError.UnknownProvider);
    }

    /// <summary>Saves the login transaction, binds it to this browser's cookie, and gives the provider URL to go to.</summary>
    private static async Task<Outcome<string>> StartAsync(
        HttpContext context, OAuthAgent agent, SessionCookies cookies, ProviderRuntime provider, string returnUrl, LoginRequestExtras extras)
    {
        var existing = cookies.ReadLoginBindings(context.Request).FirstOrDefault(b => Identifiers.IsWellFormedSecret(b.Value));
        using var activity = PortcullisTelemetry.Source.StartActivity("portcullis.login");
        activity?.SetTag("portcullis.provider", provider.Name);
        using var transactions = StatelessLoginTransactions.Bind(context);
        var start = await agent.StartLoginAsync(provider, returnUrl, existing.Value, context.RequestAborted, extras);
        if (start.Error is { } error)
        {
            return error;
        }

        cookies.WriteLoginBinding(
            context.Response, existing.Key ?? SessionCookies.NewLoginBindingCookieName(), start.Value!.BindingSecret, OAuthAgent.TransactionLifetime);
        return start.Value.AuthorizationUrl;
    }

    public static async Task<IResult> CallbackAsync(
        HttpContext context, string provider, ProviderRegistry providers, OAuthAgent agent, SessionService sessions, SessionCookies cookies, PortcullisMetrics metrics)
    {
        SecurityHeaders.NoReferrerNoStore(context.Response);
        var runtime = providers.Find(provider);
        if (runtime is null || runtime.Name != provider)
        {
            // Not counted: the provider attribute would be a name the caller made up.
            return ErrorResponses.ForNavigation(context, PortcullisError.UnknownProvider);
        }

        using var activity = PortcullisTelemetry.Source.StartActivity("portcullis.callback");
        activity?.SetTag("portcullis.provider", runtime.Name);
        var outcome = await CompleteAsync(context, runtime, agent, sessions, cookies);
        var outcomeName = outcome.Error?.Code ?? "success";
        metrics.LoginCompleted(runtime.Name, outcomeName);
        activity?.SetTag("portcullis.outcome", outcomeName);
        if (outcome.Error is { } error)
        {
            activity?.SetStatus(ActivityStatusCode.Error, error.Code);
            return ErrorResponses.ForNavigation(context, error);
        }

        return LandingPage(outcome.Value!);
    }

    /// <summary>The login completed and its session created (the cookie written): the return URL; else why not.</summary>
    private static async Task<Outcome<string>> CompleteAsync(
        HttpContext context, ProviderRuntime runtime, OAuthAgent agent, SessionService sessions, SessionCookies cookies)
    {
        var response = context.Request.Query.ToDictionary(q => q.Key, q => q.Value.Count == 1 ? q.Value[0] : null, StringComparer.Ordinal);
        var bindings = cookies.ReadLoginBindings(context.Request).Select(b => b.Value).ToArray();
        using var transactions = StatelessLoginTransactions.Bind(context);
        var login = await agent.CompleteLoginAsync(runtime, response, bindings, context.RequestAborted);
        if (login.Error is { } error)
        {
            return error;
        }

        if (await sessions.SignInAsync(login.Value!, context, context.RequestAborted) is { } signInError)
        {
            return signInError;
        }

        return login.Value!.ReturnUrl;
    }

    /// <summary>
    /// The callback arrives by a cross-site redirect, and a SameSite=Strict cookie set now would not be sent on a
    /// redirect that continues that chain. A page on our origin that navigates on makes the next request same-site,
    /// so the user lands signed in; it also drops <c>code</c> and <c>state</c> from the address bar.
    /// </summary>
    private static IResult LandingPage(string returnUrl)
    {
        var target = WebUtility.HtmlEncode(returnUrl);
        var html = $$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={{target}}"><title>Signed in</title></head>
            <body><p>Signed in. <a href="{{target}}">Continue</a></p></body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8");
    }
}
