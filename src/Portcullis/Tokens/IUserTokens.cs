using Microsoft.AspNetCore.Http;

namespace Portcullis.Tokens;

/// <summary>
/// A user's access token for server code: the current request's user (refreshed if due), or — for background
/// workers — any user who granted offline access, without a browser session. The token never leaves the server
/// through the gateway; every use is audited with who asked, never with the token.
/// </summary>
public interface IUserTokens
{
    /// <summary>The signed-in user's access token for the request's session.</summary>
    Task<UserTokenResult> GetForCurrentUserAsync(HttpContext context, string actor, CancellationToken cancellationToken = default);

    /// <summary>
    /// An access token of <paramref name="userId"/> at <paramref name="provider"/> (may be omitted when one provider is
    /// configured), for <paramref name="actor"/> (e.g. the worker's name). Fails with <c>offline_access_not_granted</c>
    /// when the user's grant has no refresh token, <c>no_grant</c> when no grant is kept for offline use, and
    /// <c>offline_access_not_enabled</c> unless <c>Portcullis:Tokens:OfflineAccess</c> is true (ADR 0027).
    /// </summary>
    Task<UserTokenResult> GetForUserAsync(string userId, string? provider, string actor, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="GetForUserAsync"/>, the token the API route named <paramref name="api"/> is sent: for a route with
    /// <c>Resource</c> or <c>Audience</c>, one minted for that API alone, at the route's provider (ADR 0043); for any
    /// other route, the grant's own. Fails with <c>invalid_request</c> when no such route is configured.
    /// </summary>
    Task<UserTokenResult> GetForUserAndApiAsync(string userId, string api, string actor, CancellationToken cancellationToken = default);
}

/// <summary>Either an access token or an error code with a message for a person.</summary>
public sealed record UserTokenResult(string? AccessToken, string? Error, string? Message)
{
    public bool Succeeded => AccessToken is not null;

    internal static UserTokenResult Failure(string error, string message) => new(null, error, message);

    /// <summary>Never prints the token.</summary>
    public override string ToString() => Succeeded ? "UserTokenResult { Succeeded = True }" : $"UserTokenResult {{ Error = {Error} }}";
}
