using System.Security.Claims;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Portcullis.Demo.Provider;

internal static class UserIdentity
{
    public static ClaimsIdentity CreateEmpty() =>
        new(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);

    // Writes the user's current profile into the identity, so a refreshed token carries the same
    // claims as the first one; then decides which claim goes into which token.
    public static ClaimsIdentity WithProfile(this ClaimsIdentity identity, DemoUser user)
    {
        identity
            .SetClaim(Claims.Subject, user.Subject)
            .SetClaim(Claims.Name, user.Name)
            .SetClaim(Claims.GivenName, user.GivenName)
            .SetClaim(Claims.FamilyName, user.FamilyName)
            .SetClaim(Claims.PreferredUsername, user.UserName)
            .SetClaim(Claims.Email, user.Email)
            .SetClaim(Claims.EmailVerified, true);
        identity.SetDestinations(ClaimDestinations.For);
        return identity;
    }
}
