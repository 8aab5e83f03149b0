using System.Net;
using Microsoft.AspNetCore.Http;
using Portcullis.Agent;
using Portcullis.Http;
using Portcullis.Primitives;
using Portcullis.Sessions;
using Portcullis.Storage;

namespace Portcullis.Endpoints;

/// <summary><c>GET /bff/login</c> and <c>GET /bff/callback/{provider}</c>: the browser-facing half of the OAuth agent.</summary>
internal static class LoginEndpoints
{
    public static async Task<IResult> LoginAsync(HttpContext context, ProviderRegistry providers, OAuthAgent agent, SessionCookies cookies, SessionService sessions)
    {
        SecurityHeaders.NoReferrerNoStore(context.Response);
        var query = context.Request.Query;
        var returnUrl = query["returnUrl"].Count == 0 ? ReturnUrl.Default : query["returnUrl"].ToString();
        if (query["returnUrl"].Count > 1 || !ReturnUrl.IsLocal(returnUrl))
        {
            return ErrorResponses.ForNavigation(context, PortcullisError.InvalidRequest("returnUrl must be a path on this site, such as /orders."));
        }

        var provider = providers.Find(query["provider"].ToString());
        if (provider is null)
        {
            return ErrorResponses.ForNavigation(context, PortcullisError.UnknownProvider);
        }

        var extras = await LoginRequestParser.ParseAsync(context, provider, sessions);
        if (extras.Error is { } extrasError)
        {
            return ErrorResponses.ForNavigation(context, extrasError);
        }

        var existing = cookies.ReadLoginBindings(context.Request).FirstOrDefault(b => Identifiers.IsWellFormedSecret(b.Value));
        var start = await agent.StartLoginAsync(provider, returnUrl, existing.Value, context.RequestAborted, extras.Value);
        if (start.Error is { } error)
        {
            return ErrorResponses.ForNavigation(context, error);
        }

        cookies.WriteLoginBinding(
            context.Response, existing.Key ?? SessionCookies.NewLoginBindingCookieName(), start.Value!.BindingSecret, OAuthAgent.TransactionLifetime);
        return Results.Redirect(start.Value.AuthorizationUrl);
    }

    public static async Task<IResult> CallbackAsync(
        HttpContext context, string provider, ProviderRegistry providers, OAuthAgent agent, SessionService sessions, SessionCookies cookies)
    {
        SecurityHeaders.NoReferrerNoStore(context.Response);
        var runtime = providers.Find(provider);
        if (runtime is null || runtime.Name != provider)
        {
            return ErrorResponses.ForNavigation(context, PortcullisError.UnknownProvider);
        }

        var response = context.Request.Query.ToDictionary(q => q.Key, q => q.Value.Count == 1 ? q.Value[0] : null, StringComparer.Ordinal);
        var bindings = cookies.ReadLoginBindings(context.Request).Select(b => b.Value).ToArray();
        var login = await agent.CompleteLoginAsync(runtime, response, bindings, context.RequestAborted);
        if (login.Error is { } error)
        {
            return ErrorResponses.ForNavigation(context, error);
        }

        var cookieValue = await sessions.SignInAsync(login.Value!, context, context.RequestAborted);
        if (cookieValue.Error is { } signInError)
        {
            return ErrorResponses.ForNavigation(context, signInError);
        }

        cookies.WriteSession(context.Response, cookieValue.Value!);
        return LandingPage(login.Value!.ReturnUrl);
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
