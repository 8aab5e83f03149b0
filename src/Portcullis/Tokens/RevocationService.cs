using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Configuration;
using Portcullis.Diagnostics;

namespace Portcullis.Tokens;

internal enum RevocationResult
{
    Revoked,
    Failed,
    NotSupported,
}

/// <summary>One RFC 7009 revocation request at the provider, bounded by <c>Revocation:Timeout</c>.</summary>
internal sealed class RevocationService(ProviderClient providerClient, IOptions<PortcullisOptions> options, ILogger<RevocationService> logger)
{
    private readonly TimeSpan _timeout = options.Value.Revocation.Timeout;

    public async Task<RevocationResult> RevokeAsync(ProviderRuntime provider, string token, string tokenTypeHint, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            var metadata = await provider.Metadata.GetConfigurationAsync(timeout.Token);
            if (string.IsNullOrEmpty(metadata.RevocationEndpoint))
            {
                return RevocationResult.NotSupported;
            }

            var response = await providerClient.RevokeAsync(provider, metadata.RevocationEndpoint, token, tokenTypeHint, timeout.Token);
            if (response.IsError)
            {
                Log.RevocationFailed(logger, provider.Name, ProviderErrors.Sanitize(response.Error ?? $"HTTP {(int)response.HttpStatusCode}"));
                return RevocationResult.Failed;
            }

            Log.TokenRevoked(logger, tokenTypeHint, provider.Name);
            return RevocationResult.Revoked;
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception) || exception is OperationCanceledException)
        {
            Log.RevocationFailed(logger, provider.Name, exception.GetType().Name);
            return RevocationResult.Failed;
        }
    }
}
