using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Agent.Presets;

/// <summary>
/// Checks what depends on a provider's <c>Kind</c>: that the kind is known, the <c>Authority</c> of OpenID Connect
/// providers, and the endpoint overrides of plain OAuth 2.0 presets (<c>github</c>, <c>discord</c>, <c>facebook</c>).
/// Runs beside <see cref="PortcullisOptionsValidator"/>; the options framework reports both validators' errors together.
/// </summary>
internal sealed class ProviderPresetOptionsValidator : IValidateOptions<PortcullisOptions>
{
    public ValidateOptionsResult Validate(string? name, PortcullisOptions options)
    {
        var errors = new List<string>();
        foreach (var (providerName, provider) in options.Providers)
        {
            var key = $"{PortcullisOptions.SectionName}:Providers:{providerName}";
            var preset = ProviderPresets.Find(provider.Kind);
            if (preset is null)
            {
                errors.Add($"{key}:Kind '{provider.Kind}' is unknown; supported: {string.Join(", ", ProviderKinds.All)}.");
            }

            // An unknown kind is checked as OpenID Connect, so its other mistakes show up in the same run.
            if (preset is null || preset.IsOpenIdConnect)
            {
                ValidateAuthority(key, provider, errors);
            }
            else
            {
                ValidatePlainOAuth(key, provider, preset, errors);
            }

            if (preset is { IsOpenIdConnect: true } && !provider.Scopes.Contains("openid"))
            {
                errors.Add($"{key}:Scopes must include 'openid' for an OpenID Connect provider.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateAuthority(string key, ProviderOptions provider, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(provider.Authority))
        {
            errors.Add($"{key}:Authority is required.");
        }
        else if (!Uri.TryCreate(provider.Authority, UriKind.Absolute, out var authority) || authority.Scheme is not ("http" or "https"))
        {
            errors.Add($"{key}:Authority must be an absolute http(s) URL (got '{provider.Authority}').");
        }
        else
        {
            PortcullisOptionsValidator.CheckTransport($"{key}:Authority", authority, errors, $"{key}:AllowInsecureTransport", provider.AllowInsecureTransport);
        }

        var endpoints = provider.Endpoints;
        if (endpoints.Authorization is not null || endpoints.Token is not null || endpoints.Revocation is not null || endpoints.Api is not null)
        {
            errors.Add($"{key}:Endpoints apply only to Kind github, discord and facebook; an OpenID Connect provider's endpoints come from its Authority's discovery document.");
        }
    }

    private static void ValidatePlainOAuth(string key, ProviderOptions provider, ProviderPreset preset, List<string> errors)
    {
        if (provider.Authority is not null)
        {
            errors.Add($"{key}:Authority is not used by Kind '{provider.Kind}' (plain OAuth 2.0, no discovery); override its endpoints under {key}:Endpoints instead.");
        }

        var endpoints = provider.Endpoints;
        CheckEndpoint(key, "Endpoints:Authorization", endpoints.Authorization, provider.AllowInsecureTransport, errors);
        CheckEndpoint(key, "Endpoints:Token", endpoints.Token, provider.AllowInsecureTransport, errors);
        CheckEndpoint(key, "Endpoints:Api", endpoints.Api, provider.AllowInsecureTransport, errors);
        CheckEndpoint(key, "Endpoints:Revocation", endpoints.Revocation, provider.AllowInsecureTransport, errors);
        if (endpoints.Revocation is not null && !preset.UsesTokenRevocation)
        {
            errors.Add($"{key}:Endpoints:Revocation is not used by Kind '{provider.Kind}', which revokes through its API (Endpoints:Api).");
        }

        if (provider.Scopes.Contains("openid"))
        {
            errors.Add($"{key}:Scopes: '{provider.Kind}' is not an OpenID Connect provider; remove 'openid'.");
        }
    }

    private static void CheckEndpoint(string providerKey, string name, string? value, bool allowInsecure, List<string> errors)
    {
        var key = $"{providerKey}:{name}";
        if (value is null)
        {
            return;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.Fragment))
        {
            errors.Add($"{key} must be an absolute http(s) URL (got '{value}').");
            return;
        }

        PortcullisOptionsValidator.CheckTransport(key, uri, errors, $"{providerKey}:AllowInsecureTransport", allowInsecure);
    }
}
