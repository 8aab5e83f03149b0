using System.Text.Json;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Portcullis.Diagnostics;
using Portcullis.Primitives;

namespace Portcullis.Agent;

/// <summary>Who signed in, as the provider vouches for it: stable subject, claims, and how and when they authenticated.</summary>
internal sealed record ProviderIdentity(string Subject, string? SessionId, Dictionary<string, JsonElement> Claims, long? AuthTime, string? Acr);

/// <summary>
/// Turns a successful token response into the signed-in user. OpenID Connect providers vouch with a validated ID token
/// (plus userinfo, and the step-up checks of <c>max_age</c> and <c>acr</c>); plain OAuth 2.0 providers have no ID token
/// and no nonce, so the user is whoever their user endpoint says the fresh access token belongs to.
/// </summary>
internal sealed class ProviderIdentityReader(ProviderClient providerClient, IdTokenValidator idTokenValidator, TimeProvider time, ILogger<ProviderIdentityReader> logger)
{
    /// <summary>Clock difference tolerated between us and the provider when checking <c>auth_time</c> against <c>max_age</c>.</summary>
    public static readonly TimeSpan AuthTimeSkew = TimeSpan.FromMinutes(1);

    public async Task<Outcome<ProviderIdentity>> ReadAsync(
        ProviderRuntime provider, OpenIdConnectConfiguration metadata, TokenResponse tokens, LoginTransactionData transaction, CancellationToken cancellationToken)
    {
        if (!provider.Preset.IsOpenIdConnect)
        {
            return await ReadFromUserEndpointAsync(provider, tokens.AccessToken!, cancellationToken);
        }

        var idToken = await idTokenValidator.ValidateAsync(provider, tokens.IdentityToken, transaction.Nonce, cancellationToken);
        if (idToken.Error is { } idTokenError)
        {
            return idTokenError;
        }

        var validated = idToken.Value!;
        if (CheckStepUp(provider, validated, transaction) is { } stepUpError)
        {
            return stepUpError;
        }

        var claims = validated.Claims;
        if (provider.Options.UseUserInfo && !string.IsNullOrEmpty(metadata.UserInfoEndpoint))
        {
            await AddUserInfoAsync(claims, validated.Subject, provider, metadata.UserInfoEndpoint, tokens.AccessToken!, transaction.DPoPKey, cancellationToken);
        }

        return new ProviderIdentity(validated.Subject, validated.SessionId, claims, validated.AuthTime, validated.Acr);
    }

    private async Task<Outcome<ProviderIdentity>> ReadFromUserEndpointAsync(ProviderRuntime provider, string accessToken, CancellationToken cancellationToken)
    {
        Outcome<Presets.ProviderUser> user;
        try
        {
            user = await provider.Preset.LoadUserAsync(providerClient.Http(), provider, accessToken, cancellationToken);
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception))
        {
            Log.UserEndpointFailed(logger, provider.Name, exception.GetType().Name);
            return PortcullisError.ProviderUnavailable;
        }

        if (user.Error is { } error)
        {
            Log.UserEndpointFailed(logger, provider.Name, error.Code);
            return error;
        }

        return new ProviderIdentity(user.Value!.Subject, null, user.Value.Claims, null, null);
    }

    /// <summary>
    /// A step-up login must prove what it was asked for: a fresh enough <c>auth_time</c> for <c>max_age</c>
    /// (OpenID Connect Core §3.1.2.1 makes the claim mandatory then) and an <c>acr</c> among the requested values.
    /// </summary>
    private PortcullisError? CheckStepUp(ProviderRuntime provider, ValidatedIdToken token, LoginTransactionData transaction)
    {
        if (transaction.MaxAge is { } maxAge)
        {
            if (token.AuthTime is not { } authTime)
            {
                return RefuseStepUp(provider, "auth_time missing although max_age was requested");
            }

            var age = time.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(authTime);
            if (age > TimeSpan.FromSeconds(maxAge) + AuthTimeSkew)
            {
                return RefuseStepUp(provider, "auth_time older than the requested max_age");
            }
        }

        if (transaction.Acr is { } requested && (token.Acr is null || !requested.Split(' ').Contains(token.Acr, StringComparer.Ordinal)))
        {
            return RefuseStepUp(provider, "acr is not one of the requested values");
        }

        return null;
    }

    private PortcullisError RefuseStepUp(ProviderRuntime provider, string reason)
    {
        Log.StepUpRefused(logger, provider.Name, reason);
        return PortcullisError.LoginFailed("The identity provider did not confirm the stronger or more recent sign-in that was asked for. Start the sign-in again.");
    }

    private async Task AddUserInfoAsync(Dictionary<string, JsonElement> claims, string subject, ProviderRuntime provider, string endpoint, string accessToken, string? dpopKey, CancellationToken cancellationToken)
    {
        // Userinfo only adds claims: when the provider cannot answer it, the login goes on with the ID token's.
        Dictionary<string, JsonElement>? userInfo;
        try
        {
            userInfo = dpopKey is null
                ? await providerClient.GetUserInfoAsync(endpoint, accessToken, cancellationToken)
                : await providerClient.GetUserInfoWithDPoPAsync(provider, endpoint, accessToken, dpopKey, cancellationToken);
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception))
        {
            userInfo = null;
        }

        // OpenID Connect Core §5.3.4: userinfo's sub must be the ID token's, or the response must not be used.
        if (userInfo is not null && userInfo.TryGetValue("sub", out var sub) && sub.ValueKind == JsonValueKind.String && sub.GetString() == subject)
        {
            // Userinfo describes the user, not the authentication or the grant: a provider (or a userinfo response
            // shaped by whoever controls the account's profile) must not add scopes or a stronger acr this way.
            foreach (var (name, value) in userInfo)
            {
                if (!IdTokenValidator.IsReservedClaim(name))
                {
                    claims[name] = value;
                }
            }
        }
    }
}
