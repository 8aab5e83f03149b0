using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Portcullis.Configuration;
using Portcullis.Diagnostics;

namespace Portcullis.Agent;

/// <summary>
/// Start-up check of what a provider's configuration demands from the provider itself: <c>PushedAuthorization: Require</c>
/// needs a discovered <c>pushed_authorization_request_endpoint</c>. A provider that answers without it stops start-up
/// naming the key; one that cannot be reached now is checked again by every login, which then refuses rather than
/// falling back to a weaker request.
/// </summary>
internal sealed class ProviderRequirementsCheck(ProviderRegistry providers, ILogger<ProviderRequirementsCheck> logger) : IHostedService
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        foreach (var provider in providers.All.Where(p => p.Options.PushedAuthorization == PushedAuthorizationMode.Require))
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Bound);
            Microsoft.IdentityModel.Protocols.OpenIdConnect.OpenIdConnectConfiguration metadata;
            try
            {
                metadata = await provider.Metadata.GetConfigurationAsync(timeout.Token);
            }
            catch (Exception exception) when (ProviderErrors.IsTransient(exception) || exception is OperationCanceledException)
            {
                Log.ProviderRequirementsUnchecked(logger, provider.Name, ProviderErrors.Describe(exception));
                continue;
            }

            if (string.IsNullOrEmpty(metadata.PushedAuthorizationRequestEndpoint))
            {
                failures.Add($"Portcullis:Providers:{provider.Name}:PushedAuthorization is 'Require' but the provider's discovery document advertises no pushed_authorization_request_endpoint.");
            }
        }

        if (failures.Count > 0)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, failures));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
