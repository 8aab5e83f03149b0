using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Portcullis.Diagnostics;
using Portcullis.Primitives;
using Portcullis.Storage;
using Portcullis.Vault;

namespace Portcullis.Agent;

/// <summary>
/// The OAuth agent: starts a login (authorization code + PKCE S256 + state + nonce) and completes it at the callback.
/// Login transactions live in the store, keyed by the hash of <c>state</c>, bound to the browser by a binding secret
/// held in one cookie; many tabs share that one cookie, so logins in parallel neither clash nor pile up cookies.
/// </summary>
internal sealed class OAuthAgent(
    ILoginTransactionStore store,
    ProviderClient providerClient,
    ProviderIdentityReader identityReader,
    RecordProtector<LoginTransactionData> transactionProtector,
    TimeProvider time,
    Microsoft.Extensions.Options.IOptions<Configuration.PortcullisOptions> options,
    ILogger<OAuthAgent> logger)
{
    /// <summary>How long a started login may take (the 10 minutes).</summary>
    public static readonly TimeSpan TransactionLifetime = TimeSpan.FromMinutes(10);

    /// <summary>Pending logins kept per browser; older abandoned ones are dropped.</summary>
    public const int MaxTransactionsPerBrowser = 20;

    public async Task<Outcome<LoginStart>> StartLoginAsync(
        ProviderRuntime provider, string returnUrl, string? existingBinding, CancellationToken cancellationToken, LoginRequestExtras? extras = null)
    {
        var metadata = await GetMetadataAsync(provider, cancellationToken);
        if (metadata.Error is { } error)
        {
            return error;
        }

        // Linking: the identity must be proven by a sign-in made now (issue 17 item 3); for OpenID Connect the
        // callback checks it through auth_time, as for a step-up with max_age=0.
        var linking = extras?.LinkUserId is not null;
        if (linking && provider.Preset.IsOpenIdConnect)
        {
            extras = extras! with { MaxAge = 0 };
        }

        var state = Identifiers.NewSecret();
        var nonce = Identifiers.NewSecret();
        var verifier = Identifiers.NewSecret();
        var binding = Identifiers.IsWellFormedSecret(existingBinding) ? existingBinding! : Identifiers.NewSecret();
        var now = time.GetUtcNow();
        var stateHash = Identifiers.Hash(state);
        using var dpopKey = provider.Options.DPoP == true ? DPoPKey.Create() : null;
        // Every route resource of this provider is named now (RFC 8707 §2.1): providers such as oidc-provider refresh for
        // a resource only when the authorization named it, and their refused refresh has already spent the refresh token.
        var resources = Configuration.TokenAudience.SignInResources(options.Value, provider.Name);
        var data = new LoginTransactionData(provider.Name, verifier, nonce, returnUrl, now)
        {
            DPoPKey = dpopKey?.Export(),
            Resources = resources.Count > 0 ? resources : null,
            MaxAge = extras?.MaxAge,
            Acr = extras?.Acr,
            LinkUserId = extras?.LinkUserId,
            LinkSessionKey = extras?.LinkSessionKey,
        };
        await store.SaveLoginTransactionAsync(
            new LoginTransactionRecord(stateHash, Identifiers.Hash(binding), transactionProtector.Protect(data, stateHash), now + TransactionLifetime),
            MaxTransactionsPerBrowser,
            now,
            cancellationToken);

        var parameters = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["response_type"] = "code",
            ["client_id"] = provider.Options.ClientId,
            ["redirect_uri"] = provider.RedirectUri,
            ["scope"] = string.Join(' ', provider.Options.Scopes),
            ["state"] = state,
            ["code_challenge"] = Pkce.Challenge(verifier),
            ["code_challenge_method"] = Pkce.Method,
        };
        if (provider.Preset.IsOpenIdConnect)
        {
            // Plain OAuth 2.0 providers issue no ID token, so there is nothing a nonce could bind.
            parameters["nonce"] = nonce;
        }

        if (dpopKey is not null)
        {
            // RFC 9449 §10: the code is bound to this key; a code stolen from the browser is useless without it.
            parameters["dpop_jkt"] = dpopKey.Thumbprint;
        }

        // Step-up (OpenID Connect Core §3.1.2.1): the callback checks that the ID token honours both.
        if (extras?.MaxAge is { } maxAge)
        {
            parameters["max_age"] = maxAge.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (extras?.Acr is { } acr)
        {
            parameters["acr_values"] = acr;
        }

        if (linking)
        {
            foreach (var (key, value) in provider.Preset.ReauthenticationParameters)
            {
                parameters[key] = value;
            }
        }

        foreach (var (key, value) in provider.Options.AuthorizationParameters)
        {
            parameters.TryAdd(key, value);
        }

        var url = await AuthorizationUrlAsync(provider, metadata.Value!, parameters, resources, cancellationToken);
        if (url.Error is { } pushError)
        {
            return pushError;
        }

        Log.LoginStarted(logger, provider.Name);
        return new LoginStart(url.Value!, binding);
    }

    /// <summary>
    /// The URL the browser is sent to: the whole request in its query, or with PAR (RFC 9126) only <c>client_id</c> and the
    /// <c>request_uri</c> the provider returned for the pushed, client-authenticated request.
    /// </summary>
    private async Task<Outcome<string>> AuthorizationUrlAsync(
        ProviderRuntime provider, OpenIdConnectConfiguration metadata, Dictionary<string, string?> parameters, IReadOnlyList<string> resources, CancellationToken cancellationToken)
    {
        var mode = provider.Options.PushedAuthorization ?? Configuration.PushedAuthorizationMode.Auto;
        var endpoint = metadata.PushedAuthorizationRequestEndpoint;
        if (mode == Configuration.PushedAuthorizationMode.Never || (mode == Configuration.PushedAuthorizationMode.Auto && string.IsNullOrEmpty(endpoint)))
        {
            // `resource` may repeat (RFC 8707 §2), which a dictionary of parameters cannot say.
            return QueryHelpers.AddQueryString(metadata.AuthorizationEndpoint, parameters
                .Select(p => KeyValuePair.Create(p.Key, new Microsoft.Extensions.Primitives.StringValues(p.Value)))
                .Append(KeyValuePair.Create(Configuration.TokenAudience.ResourceParameter, new Microsoft.Extensions.Primitives.StringValues([.. resources])))
                .Where(p => p.Value.Count > 0));
        }

        if (string.IsNullOrEmpty(endpoint))
        {
            // Require, and the provider stopped advertising PAR since start-up: never fall back to the front channel.
            Log.PushedAuthorizationUnavailable(logger, provider.Name, $"Portcullis:Providers:{provider.Name}:PushedAuthorization");
            return PortcullisError.ProviderUnavailable;
        }

        var pushed = await providerClient.PushAuthorizationAsync(provider, endpoint, parameters, resources, cancellationToken);
        if (pushed.IsError || string.IsNullOrEmpty(pushed.RequestUri))
        {
            Log.PushedAuthorizationFailed(logger, provider.Name, ProviderErrors.Sanitize(pushed.Error ?? "no request_uri"), (int)pushed.HttpStatusCode);
            return PortcullisError.ProviderUnavailable;
        }

        return QueryHelpers.AddQueryString(metadata.AuthorizationEndpoint, new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["client_id"] = provider.Options.ClientId,
            ["request_uri"] = pushed.RequestUri,
        });
    }

    public async Task<Outcome<AuthenticatedLogin>> CompleteLoginAsync(
        ProviderRuntime provider, IReadOnlyDictionary<string, string?> response, IReadOnlyList<string> bindings, CancellationToken cancellationToken)
    {
        var state = response.GetValueOrDefault("state");
        var candidates = bindings.Where(Identifiers.IsWellFormedSecret).ToArray();
        if (!Identifiers.IsWellFormedSecret(state) || candidates.Length == 0)
        {
            return Refuse(provider, "missing or malformed state or browser binding", "The sign-in link is invalid. Start the sign-in again.");
        }

        // The transaction is taken only with the binding it was started with; any of this browser's bindings may be it.
        var stateHash = Identifiers.Hash(state!);
        LoginTransactionRecord? record = null;
        foreach (var binding in candidates)
        {
            record = await store.TakeLoginTransactionAsync(stateHash, Identifiers.Hash(binding), time.GetUtcNow(), cancellationToken);
            if (record is not null)
            {
                break;
            }
        }

        var transaction = record is null ? null : transactionProtector.Unprotect(record.Data, stateHash);
        if (transaction is null || transaction.Provider != provider.Name)
        {
            return Refuse(provider, "unknown, expired, already used or foreign state", "This sign-in has expired, was already used, or was started in another browser. Start the sign-in again.");
        }

        if (response.GetValueOrDefault("error") is { Length: > 0 } providerError)
        {
            var code = ProviderErrors.Sanitize(providerError);
            Log.ProviderReturnedError(logger, provider.Name, code);
            return PortcullisError.LoginFailed($"The identity provider did not sign you in ({code}).");
        }

        var metadata = await GetMetadataAsync(provider, cancellationToken);
        if (metadata.Error is { } metadataError)
        {
            return metadataError;
        }

        var issuerCheck = CheckAuthorizationResponseIssuer(provider, metadata.Value!, response.GetValueOrDefault("iss"));
        if (issuerCheck is not null)
        {
            return issuerCheck;
        }

        if (response.GetValueOrDefault("code") is not { Length: > 0 } authorizationCode)
        {
            return Refuse(provider, "no authorization code", "The identity provider's answer is incomplete. Start the sign-in again.");
        }

        Duende.IdentityModel.Client.TokenResponse tokenResponse;
        try
        {
            tokenResponse = await providerClient.RedeemCodeAsync(provider, metadata.Value!.TokenEndpoint, authorizationCode, transaction.CodeVerifier, transaction.DPoPKey, cancellationToken);
            tokenResponse = await provider.Preset.AfterCodeRedemptionAsync(providerClient.Http(), provider, tokenResponse, cancellationToken);
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception))
        {
            Log.TokenRequestFailed(logger, provider.Name, exception.GetType().Name, 0);
            return PortcullisError.ProviderUnavailable;
        }

        if (tokenResponse.IsError || string.IsNullOrEmpty(tokenResponse.AccessToken))
        {
            Log.TokenRequestFailed(logger, provider.Name, ProviderErrors.Sanitize(tokenResponse.Error ?? "no access_token"), (int)tokenResponse.HttpStatusCode);
            // An error in the body is the provider's answer (GitHub sends those with HTTP 200); anything else means it is unwell.
            return tokenResponse.ErrorType is Duende.IdentityModel.Client.ResponseErrorType.Protocol or Duende.IdentityModel.Client.ResponseErrorType.None
                ? PortcullisError.LoginFailed("The identity provider refused to complete the sign-in. Start the sign-in again.")
                : PortcullisError.ProviderUnavailable;
        }

        if (transaction.DPoPKey is not null && !string.Equals(tokenResponse.TokenType, "DPoP", StringComparison.OrdinalIgnoreCase))
        {
            // A bearer token where a bound one was asked for would be sent without its proof: refuse it (RFC 9449 §5).
            Log.TokenRequestFailed(logger, provider.Name, "token_type is not DPoP", (int)tokenResponse.HttpStatusCode);
            return PortcullisError.LoginFailed("The identity provider did not bind the tokens to this gateway's key. Start the sign-in again.");
        }

        var identity = await identityReader.ReadAsync(provider, metadata.Value, tokenResponse, transaction, cancellationToken);
        if (identity.Error is { } identityError)
        {
            return identityError;
        }

        var now = time.GetUtcNow();
        var user = identity.Value!;
        var tokens = RefreshTokenLifetime.Apply(
            TokenSet.Create(tokenResponse.AccessToken, tokenResponse.RefreshToken, tokenResponse.IdentityToken, tokenResponse.ExpiresIn, tokenResponse.Scope, now, options.Value.Refresh.Skew),
            tokenResponse,
            now) with { DPoPKey = transaction.DPoPKey, SignInResources = transaction.Resources };
        return new AuthenticatedLogin(provider.Name, user.Subject, user.SessionId, user.Claims, tokens, transaction.ReturnUrl)
        {
            AuthTime = user.AuthTime,
            Acr = user.Acr,
            LinkUserId = transaction.LinkUserId,
            LinkSessionKey = transaction.LinkSessionKey,
        };
    }

    /// <summary>
    /// RFC 9207 mix-up defence: an <c>iss</c> in the authorization response must be the expected issuer, and when the
    /// provider advertises the parameter, or the provider's profile is <c>fapi2</c> (FAPI 2.0 §5.3.2.2), it must be present
    /// (SECURITY.md item 14).
    /// </summary>
    private PortcullisError? CheckAuthorizationResponseIssuer(ProviderRuntime provider, OpenIdConnectConfiguration metadata, string? iss)
    {
        if (iss is not null)
        {
            return string.Equals(iss, metadata.Issuer, StringComparison.Ordinal)
                ? null
                : Refuse(provider, "iss in the authorization response is not the provider's issuer", "The sign-in answer came from an unexpected issuer.");
        }

        return metadata.AuthorizationResponseIssParameterSupported || provider.Options.Profile == Configuration.ProviderProfiles.Fapi2
            ? Refuse(provider, "iss missing from the authorization response although the provider advertises it or the profile requires it", "The sign-in answer is missing its issuer.")
            : null;
    }

    private async Task<Outcome<OpenIdConnectConfiguration>> GetMetadataAsync(ProviderRuntime provider, CancellationToken cancellationToken)
    {
        OpenIdConnectConfiguration metadata;
        try
        {
            metadata = await provider.Metadata.GetConfigurationAsync(cancellationToken);
        }
        catch (Exception exception) when (ProviderErrors.IsTransient(exception))
        {
            Log.ProviderMetadataFailed(logger, provider.Name, ProviderErrors.Describe(exception));
            return PortcullisError.ProviderUnavailable;
        }

        // The configured issuer must be the discovered one exactly (SECURITY.md item 14; OpenID Discovery §4.3).
        if (provider.Preset.IsOpenIdConnect && !string.Equals(metadata.Issuer, provider.Options.Authority, StringComparison.Ordinal))
        {
            Log.ProviderMetadataFailed(logger, provider.Name, $"discovered issuer '{metadata.Issuer}' differs from Portcullis:Providers:{provider.Name}:Authority '{provider.Options.Authority}'");
            return PortcullisError.ProviderUnavailable;
        }

        if (string.IsNullOrEmpty(metadata.AuthorizationEndpoint) || string.IsNullOrEmpty(metadata.TokenEndpoint))
        {
            Log.ProviderMetadataFailed(logger, provider.Name, "authorization or token endpoint missing");
            return PortcullisError.ProviderUnavailable;
        }

        return metadata;
    }

    private PortcullisError Refuse(ProviderRuntime provider, string reason, string message)
    {
        Log.CallbackRefused(logger, provider.Name, reason);
        return PortcullisError.InvalidRequest(message);
    }
}
