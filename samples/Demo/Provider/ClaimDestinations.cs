using System.Security.Claims;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Portcullis.Demo.Provider;

internal static class ClaimDestinations
{
    // OpenIddict copies no claim into a token unless told to. Profile and email claims go into the
    // ID token when their scope was granted, and into the access token as well so the sample API can
    // greet the user by name without calling userinfo.
    public static IEnumerable<string> For(Claim claim)
    {
        switch (claim.Type)
        {
            case Claims.Name or Claims.GivenName or Claims.FamilyName or Claims.PreferredUsername:
                return claim.Subject?.HasScope(Scopes.Profile) == true
                    ? [Destinations.AccessToken, Destinations.IdentityToken]
                    : [Destinations.AccessToken];

            case Claims.Email or Claims.EmailVerified:
                return claim.Subject?.HasScope(Scopes.Email) == true
                    ? [Destinations.AccessToken, Destinations.IdentityToken]
                    : [Destinations.AccessToken];

            // OpenID Connect Core 1.0, section 2: auth_time belongs in the ID token (required there
            // when max_age was requested); the API has no use for it.
            case Claims.AuthenticationTime:
                return [Destinations.IdentityToken];

            default:
                return [Destinations.AccessToken];
        }
    }
}
