using Microsoft.AspNetCore.Http;

namespace Portcullis.Sessions;

/// <summary>
/// One request's stateless session (ADR 0033) as opened from its cookies, and what the response must write back: a
/// re-issued session cookie (sliding expiry, refreshed tokens), the refresh cookie (rotation), or nothing but expired
/// cookies (logout, a refused grant, an anomaly). The cookies are written once, when the response starts: after the
/// proxy has copied (and filtered) the upstream's headers, so they cannot be dropped with the upstream's cookies.
/// </summary>
internal sealed class StatelessRequest
{
    private bool _registered;

    /// <summary>The session cookie's content as this request now sees it (after a refresh: the new tokens).</summary>
    public StatelessSessionPayload? Payload { get; set; }

    /// <summary>The refresh token, once read from its cookie (or received from a refresh) during this request.</summary>
    public string? RefreshToken { get; set; }

    public bool WriteSession { get; private set; }

    public bool WriteRefresh { get; private set; }

    public bool Clear { get; private set; }

    public static StatelessRequest Of(HttpContext context)
    {
        if (context.Features.Get<StatelessRequest>() is { } existing)
        {
            return existing;
        }

        var created = new StatelessRequest();
        context.Features.Set(created);
        return created;
    }

    public void Rewrite(HttpContext context, StatelessSessionPayload payload, Action<HttpContext, StatelessRequest> write, bool refreshToo = false)
    {
        Payload = payload;
        WriteSession = true;
        WriteRefresh |= refreshToo;
        Register(context, write);
    }

    public void Expire(HttpContext context, Action<HttpContext, StatelessRequest> write)
    {
        Clear = true;
        Register(context, write);
    }

    private void Register(HttpContext context, Action<HttpContext, StatelessRequest> write)
    {
        if (_registered || context.Response.HasStarted)
        {
            return;
        }

        _registered = true;
        context.Response.OnStarting(() =>
        {
            write(context, this);
            return Task.CompletedTask;
        });
    }
}
