using Duende.IdentityModel.Client;

namespace Portcullis.Agent;

/// <summary>
/// A token endpoint's answer as the gateway may use it. Duende.IdentityModel reads a JSON <c>null</c> as an empty
/// string, and a provider that writes <c>"refresh_token": null</c> sent none (it did not rotate): stored as a token, the
/// empty string would make the next refresh fail, and an empty <c>id_token</c> would be refused as a forgery and end
/// the grant. Read through these members, a field the provider did not fill is null.
/// </summary>
internal static class TokenAnswer
{
    extension(TokenResponse response)
    {
        /// <summary>The new refresh token; null when the answer carries none (the previous one stays in use).</summary>
        public string? IssuedRefreshToken => NullIfEmpty(response.RefreshToken);

        /// <summary>The new ID token; null when the answer carries none.</summary>
        public string? IssuedIdToken => NullIfEmpty(response.IdentityToken);

        /// <summary>The scope granted; null when the answer does not say (the requested or previous scope applies).</summary>
        public string? GrantedScope => NullIfEmpty(response.Scope);
    }

    /// <summary>
    /// <paramref name="response"/>, or an answer carrying the exception when the gateway cannot use it: a body that is
    /// not a JSON object (Duende.IdentityModel throws when it is read), or a success without an access token. Either
    /// way the request reached the provider, which may have spent a refresh token on it: callers treat it as an answer
    /// they could not read (ADR 0021), never as a refusal and never as a 500.
    /// </summary>
    public static TokenResponse Checked(TokenResponse response)
    {
        try
        {
            return response.IsError || !string.IsNullOrEmpty(response.AccessToken)
                ? response
                : ProtocolResponse.FromException<TokenResponse>(new UnusableTokenAnswerException("a success without an access_token"));
        }
        catch (InvalidOperationException exception)
        {
            return ProtocolResponse.FromException<TokenResponse>(new UnusableTokenAnswerException("a body that is not a JSON object", exception));
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

/// <summary>A token endpoint's answer the gateway cannot use (<see cref="TokenAnswer.Checked"/>); its name is what the logs show.</summary>
internal sealed class UnusableTokenAnswerException : Exception
{
    public UnusableTokenAnswerException(string message)
        : base(message)
    {
    }

    public UnusableTokenAnswerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
