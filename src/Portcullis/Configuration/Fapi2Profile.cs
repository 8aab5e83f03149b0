namespace Portcullis.Configuration;

/// <summary>
/// <c>Profile: fapi2</c> (FAPI 2.0 Security Profile §5.2, issue 16): what the profile means for a provider's settings.
/// A key left out takes the profile's value; a key set to something weaker is refused, naming it, rather than silently
/// raised: an operator who wrote <c>DPoP: false</c> meant something, and start-up is the place to say it clashes (ADR 0035).
/// What the profile asks of the provider itself (PAR endpoint, <c>iss</c> in the response, S256, <c>private_key_jwt</c>,
/// ES256 proofs) is checked against its discovery document by the agent at start-up.
/// </summary>
internal static class Fapi2Profile
{
    private const string Name = ProviderProfiles.Fapi2;

    public static bool Applies(ProviderOptions provider) => provider.Profile == Name;

    /// <summary>Fills in what configuration left out; runs before the presets' defaults so they never pick a secret.</summary>
    public static void ApplyDefaults(ProviderOptions provider)
    {
        if (Applies(provider))
        {
            provider.PushedAuthorization ??= PushedAuthorizationMode.Require;
            provider.ClientAuthentication ??= ClientAuthenticationMethods.PrivateKeyJwt;
            provider.DPoP ??= true;
        }

        provider.PushedAuthorization ??= PushedAuthorizationMode.Auto;
        provider.DPoP ??= false;
    }

    /// <summary>Adds one error per key that is weaker than the profile allows (all of them, so one start-up shows every fix).</summary>
    public static void Validate(string key, ProviderOptions provider, List<string> errors)
    {
        if (provider.Profile is null)
        {
            return;
        }

        if (!Applies(provider))
        {
            errors.Add($"{key}:Profile '{provider.Profile}' is unknown; supported: {Name}.");
            return;
        }

        if (provider.Kind != ProviderKinds.Oidc)
        {
            errors.Add($"{key}:Profile '{Name}' applies only to Kind 'oidc' (got '{provider.Kind}').");
        }

        if (provider.PushedAuthorization != PushedAuthorizationMode.Require)
        {
            errors.Add(Weaker(key, "PushedAuthorization", "Require", provider.PushedAuthorization?.ToString()));
        }

        if (provider.ClientAuthentication != ClientAuthenticationMethods.PrivateKeyJwt)
        {
            errors.Add(Weaker(key, "ClientAuthentication", ClientAuthenticationMethods.PrivateKeyJwt, provider.ClientAuthentication));
        }

        if (provider.DPoP != true)
        {
            errors.Add(Weaker(key, "DPoP", "true", "false"));
        }

        // FAPI 2.0 §5.2.1: TLS everywhere; loopback http stays allowed as for every provider (tests, sidecars).
        if (provider.AllowInsecureTransport)
        {
            errors.Add($"{key}:AllowInsecureTransport must not be true under {key}:Profile '{Name}' (FAPI 2.0 requires TLS to the provider).");
        }
    }

    private static string Weaker(string key, string setting, string required, string? got) =>
        $"{key}:{setting} must be '{required}' under {key}:Profile '{Name}' (got '{got}'); leave it out to take the profile's value.";
}
