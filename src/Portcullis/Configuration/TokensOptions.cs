namespace Portcullis.Configuration;

/// <summary>How the tokens users grant the gateway may be used beyond the session that obtained them (ADR 0027).</summary>
public sealed class TokensOptions
{
    /// <summary>
    /// Lets server code act for a user without their session (<c>IUserTokens.GetForUserAsync</c>, e.g. a nightly worker).
    /// When true, the grant of the user's most recent login at a provider that returned a refresh token is kept for
    /// offline use after its session ends, until the user logs out everywhere; every use is audited with
    /// <c>detail: "offline"</c>. When false, each grant ends with its session and workers are refused. The default
    /// value is false.
    /// </summary>
    public bool OfflineAccess { get; set; }
}
