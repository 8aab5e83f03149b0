using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Portcullis.Agent;

/// <summary>
/// Validation shared by every JWT a provider signs for this client (ID tokens, logout tokens): signature against the
/// provider's JWKS, <c>iss</c>, <c>aud</c> and lifetime, reading the JWKS from the provider again when the signing key
/// is unknown (the provider may have rotated its keys since they were cached; <see cref="ProviderRuntime.RefetchMetadataAsync"/>).
/// </summary>
internal static class ProviderSignedJwt
{
    /// <summary>How far the provider's clock and ours may disagree.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    /// <summary>
    /// Validates <paramref name="jwt"/> for <paramref name="audiences"/>, by default this client (the audience of its ID and
    /// logout tokens); access tokens presented by callers name the resource servers instead (ADR 0042).
    /// </summary>
    public static async Task<TokenValidationResult> ValidateAsync(ProviderRuntime provider, string jwt, bool requireExpiration, CancellationToken cancellationToken, IReadOnlyList<string>? audiences = null) =>
        (await CheckAsync(provider, jwt, requireExpiration, cancellationToken, audiences)).Result;

    /// <summary>
    /// As <see cref="ValidateAsync"/>, and whether a refusal for an unknown signing key may be only the provider's keys
    /// that could not be read again (<see cref="ProviderSignedJwtCheck.KeysUnreadable"/>): the key may well be a new one.
    /// </summary>
    public static async Task<ProviderSignedJwtCheck> CheckAsync(ProviderRuntime provider, string jwt, bool requireExpiration, CancellationToken cancellationToken, IReadOnlyList<string>? audiences = null)
    {
        var result = await ValidateWithAsync(await provider.Metadata.GetConfigurationAsync(cancellationToken), provider, jwt, requireExpiration, audiences);
        if (result.Exception is not SecurityTokenSignatureKeyNotFoundException)
        {
            return new(result, KeysUnreadable: false);
        }

        return await provider.RefetchMetadataAsync(cancellationToken) is { } fresh
            ? new(await ValidateWithAsync(fresh, provider, jwt, requireExpiration, audiences), KeysUnreadable: false)
            : new(result, KeysUnreadable: true);
    }

    private static Task<TokenValidationResult> ValidateWithAsync(OpenIdConnectConfiguration metadata, ProviderRuntime provider, string jwt, bool requireExpiration, IReadOnlyList<string>? audiences) =>
        Handler.ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            // A plain OAuth 2.0 preset has no issuer and no keys: nothing it could sign validates.
            ValidIssuers = metadata.Issuer is null ? [] : [metadata.Issuer, .. provider.Preset.AlternateIssuers],
            ValidAudiences = audiences ?? (provider.Options.ClientId is { } clientId ? [clientId] : []),
            IssuerSigningKeys = metadata.SigningKeys,
            RequireSignedTokens = true,
            RequireExpirationTime = requireExpiration,
            ValidateLifetime = true,
            ClockSkew = ClockSkew,
        });
}

/// <summary>A provider-signed JWT's validation, and whether its unknown key could not be looked up at the provider.</summary>
internal sealed record ProviderSignedJwtCheck(TokenValidationResult Result, bool KeysUnreadable);
