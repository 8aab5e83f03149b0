using Portcullis.Agent.Presets;

namespace Portcullis.Configuration;

/// <summary>Checks of a plain OAuth 2.0 preset (<c>github</c>, <c>discord</c>, <c>facebook</c>): endpoint overrides and what does not apply.</summary>
internal static class ProviderPresetValidator
{
    public static void ValidatePlainOAuth(string key, ProviderOptions provider, ProviderPreset preset, List<string> errors)
    {
        if (provider.Authority is not null)
        {
            errors.Add($"{key}:Authority is not used by Kind '{provider.Kind}' (plain OAuth 2.0, no discovery); override its endpoints under {key}:Endpoints instead.");
        }

        var endpoints = provider.Endpoints;
        CheckEndpoint($"{key}:Endpoints:Authorization", endpoints.Authorization, errors);
        CheckEndpoint($"{key}:Endpoints:Token", endpoints.Token, errors);
        CheckEndpoint($"{key}:Endpoints:Api", endpoints.Api, errors);
        CheckEndpoint($"{key}:Endpoints:Revocation", endpoints.Revocation, errors);
        if (endpoints.Revocation is not null && !preset.UsesTokenRevocation)
        {
            errors.Add($"{key}:Endpoints:Revocation is not used by Kind '{provider.Kind}', which revokes through its API (Endpoints:Api).");
        }

        if (provider.Scopes.Contains("openid"))
        {
            errors.Add($"{key}:Scopes: '{provider.Kind}' is not an OpenID Connect provider; remove 'openid'.");
        }
    }

    private static void CheckEndpoint(string key, string? value, List<string> errors)
    {
        if (value is null)
        {
            return;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.Fragment))
        {
            errors.Add($"{key} must be an absolute http(s) URL (got '{value}').");
            return;
        }

        PortcullisOptionsValidator.CheckTransport(key, uri, errors);
    }
}
