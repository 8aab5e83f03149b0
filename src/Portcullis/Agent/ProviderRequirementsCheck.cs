using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Portcullis.Configuration;
using Portcullis.Diagnostics;

namespace Portcullis.Agent;

/// <summary>
/// Start-up check of what a provider's configuration demands from the provider itself: <c>PushedAuthorization: Require</c>
/// needs a discovered <c>pushed_authorization_request_endpoint</c>, and <c>Profile: fapi2</c> also needs the provider to
/// advertise the <c>iss</c> response parameter, PKCE S256, <c>private_key_jwt</c> and ES256 DPoP proofs. A provider that
/// answers without them stops start-up naming the key; one that cannot be reached now is checked again by every login,
/// which then refuses rather than falling back to a weaker request.
/// </summary>
internal sealed class ProviderRequirementsCheck(ProviderRegistry providers, ILogger<ProviderRequirementsCheck> logger) : IHostedService
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        foreach (var provider in providers.All.Where(p => p.Options.PushedAuthorization == PushedAuthorizationMode.Require || Fapi2Profile.Applies(p.Options)))
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Bound);
            OpenIdConnectConfiguration metadata;
            try
            {
                metadata = await provider.Metadata.GetConfigurationAsync(timeout.Token);
            }
            catch (Exception exception) when (ProviderErrors.IsTransient(exception) || exception is OperationCanceledException)
            {
                Log.ProviderRequirementsUnchecked(logger, provider.Name, ProviderErrors.Describe(exception));
                continue;
            }

            var key = $"Portcullis:Providers:{provider.Name}";
            if (string.IsNullOrEmpty(metadata.PushedAuthorizationRequestEndpoint))
            {
                failures.Add($"{key}:PushedAuthorization is 'Require' but the provider's discovery document advertises no pushed_authorization_request_endpoint.");
            }

            if (Fapi2Profile.Applies(provider.Options))
            {
                CheckFapi2(key, metadata, failures);
            }
        }

        if (failures.Count > 0)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, failures));
        }
    }

    // FAPI 2.0 §5.3.1: the authorization server must support each of these; a provider that does not advertise one would
    // ignore or refuse the gateway's part of it at the first login, so say so now, naming what is missing.
    private static void CheckFapi2(string key, OpenIdConnectConfiguration metadata, List<string> failures)
    {
        var profile = $"{key}:Profile is '{ProviderProfiles.Fapi2}' but the provider's discovery document";
        if (!metadata.AuthorizationResponseIssParameterSupported)
        {
            failures.Add($"{profile} does not set authorization_response_iss_parameter_supported (RFC 9207).");
        }

        if (!metadata.CodeChallengeMethodsSupported.Contains(Pkce.Method))
        {
            failures.Add($"{profile}'s code_challenge_methods_supported lacks {Pkce.Method}.");
        }

        if (!metadata.TokenEndpointAuthMethodsSupported.Contains(ClientAuthenticationMethods.PrivateKeyJwt))
        {
            failures.Add($"{profile}'s token_endpoint_auth_methods_supported lacks {ClientAuthenticationMethods.PrivateKeyJwt}.");
        }

        if (!metadata.DPoPSigningAlgValuesSupported.Contains(DPoPKey.Algorithm))
        {
            failures.Add($"{profile}'s dpop_signing_alg_values_supported lacks {DPoPKey.Algorithm}.");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
