using Microsoft.Extensions.Logging;
using Portcullis.Agent;
using Portcullis.Diagnostics;

namespace Portcullis.Tokens;

/// <summary>RFC 7009 token revocation at the provider, bounded in time so a slow provider never holds up a logout.</summary>
internal sealed class RevocationService(ProviderClient providerClient, ILogger<RevocationService> logger)
{
    /// <summary>How long a logout waits for the provider's revocation endpoint.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public async Task<bool> RevokeAsync(ProviderRuntime provider, string token, string tokenTypeHint, CancellationToken cancellationToken)
    {
        string? endpoint;
        try
        {
            var metadata = await provider.Metadata.GetConfigurationAsync(cancellationToken);
            endpoint = metadata.RevocationEndpoint;
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception))
        {
            Log.RevocationFailed(logger, provider.Name, "metadata unavailable");
            return false;
        }

        if (string.IsNullOrEmpty(endpoint))
        {
            return false;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            var response = await providerClient.RevokeAsync(provider, endpoint, token, tokenTypeHint, timeout.Token);
            if (response.IsError)
            {
                Log.RevocationFailed(logger, provider.Name, ProviderErrors.Sanitize(response.Error ?? $"HTTP {(int)response.HttpStatusCode}"));
                return false;
            }

            Log.TokenRevoked(logger, tokenTypeHint, provider.Name);
            return true;
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception) || exception is OperationCanceledException)
        {
            Log.RevocationFailed(logger, provider.Name, exception.GetType().Name);
            return false;
        }
    }
}
