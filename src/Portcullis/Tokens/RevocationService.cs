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

/// <summary>
/// One revocation request at the provider, bounded by <c>Revocation:Timeout</c>: RFC 7009 where the provider has it,
/// otherwise the preset's own way of withdrawing the app's authorization with the access token (GitHub, Facebook).
/// </summary>
internal sealed class RevocationService(ProviderClient providerClient, IOptions<PortcullisOptions> options, ILogger<RevocationService> logger)
{
    private readonly TimeSpan _timeout = options.Value.Revocation.Timeout;

    public async Task<RevocationResult> RevokeAsync(ProviderRuntime provider, string token, string tokenTypeHint, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        if (!provider.Preset.UsesTokenRevocation)
        {
            // Only the access token identifies the authorization there; a refresh token cannot be revoked on its own.
            return tokenTypeHint == "access_token" ? await RevokeAuthorizationAsync(provider, token, timeout.Token) : RevocationResult.NotSupported;
        }

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

    private async Task<RevocationResult> RevokeAuthorizationAsync(ProviderRuntime provider, string accessToken, CancellationToken cancellationToken)
    {
        try
        {
            var result = await provider.Preset.RevokeAuthorizationAsync(providerClient.Http(), provider, accessToken, cancellationToken);
            if (!result.Succeeded)
            {
                Log.RevocationFailed(logger, provider.Name, ProviderErrors.Sanitize(result.Error));
                return RevocationResult.Failed;
            }

            Log.TokenRevoked(logger, "authorization", provider.Name);
            return RevocationResult.Revoked;
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception) || exception is OperationCanceledException)
        {
            Log.RevocationFailed(logger, provider.Name, exception.GetType().Name);
            return RevocationResult.Failed;
        }
    }
}
