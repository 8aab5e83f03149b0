using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Portcullis.Primitives;

namespace Portcullis.Sessions;

/// <summary>
/// The request's session as resolved once (cookie, store, decryption, anomaly checks), kept on
/// <see cref="HttpContext.Features"/> for the rest of the request: the proxy, the authentication scheme and the
/// endpoints all read the same answer, and a logout can withdraw it. Typed, unlike <c>HttpContext.Items</c>, the way
/// YARP exposes <c>IReverseProxyFeature</c>.
/// </summary>
internal sealed class SessionFeature
{
    /// <summary>The session, or null when the request has none (or it was ended during the request).</summary>
    public CurrentSession? Session { get; set; }

    /// <summary>Why the request has no session when a check refused it (an anomaly); null means plain <c>unauthenticated</c>.</summary>
    public PortcullisError? Refusal { get; init; }

    public static SessionFeature? Of(HttpContext context) => context.Features.Get<SessionFeature>();

    public void AttachTo(HttpContext context) => context.Features.Set(this);
}
