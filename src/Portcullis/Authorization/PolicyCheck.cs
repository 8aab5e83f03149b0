using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Portcullis.Primitives;
using Portcullis.Sessions;

namespace Portcullis.Authorization;

/// <summary>A policy evaluated as the authorization middleware would for an endpoint, its outcome as the gateway answers it.</summary>
internal static class PolicyCheck
{
    /// <summary>
    /// No refusal when the policy is met; else the session's refusal when it challenged (no valid session), or what the
    /// failed requirements call for (403, step-up, provider unavailable) with <c>Denied</c> set, which callers log.
    /// </summary>
    public static async Task<(PortcullisError? Refusal, bool Denied)> CheckAsync(IPolicyEvaluator evaluator, AuthorizationPolicy policy, HttpContext context)
    {
        var authentication = await evaluator.AuthenticateAsync(policy, context);
        var result = await evaluator.AuthorizeAsync(policy, authentication, context, context);
        if (result.Succeeded)
        {
            return (null, false);
        }

        return result.Challenged ? (SessionService.RefusalFor(context), false) : (AuthorizationErrors.For(result.AuthorizationFailure), true);
    }
}
