using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Portcullis.Authorization;

namespace Portcullis.Samples.DiscordModerators.Pages;

/// <summary>
/// The one page: a sign-in button for strangers, the dashboard for moderators, and for everyone else the reason Portcullis
/// gave (e.g. "You are not a moderator of Portcullis HQ."), with 403 — or 503 when Discord could not be asked just now.
/// </summary>
public sealed class IndexModel(IAuthorizationService authorization) : PageModel
{
    public PageState State { get; private set; }

    public string? Reason { get; private set; }

    public string? UserName { get; private set; }

    public async Task OnGetAsync()
    {
        // Asked explicitly: the page has no [Authorize], and the Portcullis scheme stays silent before routing.
        var authentication = await HttpContext.AuthenticateAsync(PortcullisAuthenticationDefaults.AuthenticationScheme);
        if (!authentication.Succeeded)
        {
            State = PageState.SignedOut;
            return;
        }

        var user = authentication.Principal;
        UserName = user.FindFirst("name")?.Value ?? user.FindFirst("preferred_username")?.Value;
        // The HttpContext as resource: the policy's Discord check uses this request's session.
        var result = await authorization.AuthorizeAsync(user, HttpContext, ModeratorsApp.PolicyName);
        if (result.Succeeded)
        {
            State = PageState.Moderator;
            return;
        }

        var reasons = result.Failure?.FailureReasons ?? [];
        Reason = string.Join(" ", reasons.Select(r => r.Message).Distinct(StringComparer.Ordinal));
        var unavailable = reasons.OfType<ProviderUnavailableFailureReason>().FirstOrDefault();
        if (unavailable is not null && reasons.All(r => r is ProviderUnavailableFailureReason))
        {
            State = PageState.Unavailable;
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            Response.Headers.RetryAfter = unavailable.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return;
        }

        State = PageState.Refused;
        Response.StatusCode = StatusCodes.Status403Forbidden;
    }
}

public enum PageState
{
    SignedOut,
    Moderator,
    Refused,
    Unavailable,
}
