using Duende.IdentityModel.Client;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Portcullis.Configuration;
using Portcullis.Storage;

namespace Portcullis.Agent;

/// <summary>
/// <c>private_key_jwt</c> (RFC 7523 §2.2, OpenID Connect Core §9): the client's keys for one provider and the signed
/// assertion that stands in for a client secret on every call that authenticates the client.
/// </summary>
internal sealed class ClientAssertions
{
    /// <summary>How long an assertion is accepted; one is made per request, so a short life costs nothing.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    private readonly string _clientId;
    private readonly string _audience;
    private readonly TimeProvider _time;

    private ClientAssertions(string clientId, string audience, ClientSigningKey current, ClientSigningKey? next, TimeProvider time)
    {
        _clientId = clientId;
        _audience = audience;
        _time = time;
        Current = current;
        PublicKeys = next is null ? [current.PublicJwk] : [current.PublicJwk, next.PublicJwk];
    }

    public ClientSigningKey Current { get; }

    /// <summary>What <c>{BasePath}/jwks/{provider}</c> serves: the signing key first, then the rotation key.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> PublicKeys { get; }

    /// <summary>The provider's assertions, or null when it authenticates with a secret. Options were validated at start.</summary>
    public static ClientAssertions? For(ProviderOptions options, TimeProvider time)
    {
        if (options.ClientAuthentication != ClientAuthenticationMethods.PrivateKeyJwt)
        {
            return null;
        }

        var current = ClientSigningKey.Read(options.ClientSigningKey!, options.ClientSigningKeyId!).Key
            ?? throw new InvalidOperationException("ClientSigningKey was validated at start-up but cannot be read now.");
        var next = options.NextClientSigningKey is { Length: > 0 } nextValue
            ? ClientSigningKey.Read(nextValue, options.NextClientSigningKeyId!).Key
            : null;
        // The audience is the issuer identifier, as FAPI 2.0 §5.3.2.1 asks and RFC 7523 allows.
        return new ClientAssertions(options.ClientId!, options.Authority!, current, next, time);
    }

    /// <summary>A fresh assertion: unique <c>jti</c>, so a provider that remembers them never sees one twice.</summary>
    public ClientAssertion Create()
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var jwt = Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _clientId,
            Audience = _audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + Lifetime,
            Claims = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                ["sub"] = _clientId,
                ["jti"] = Identifiers.NewSecret(),
            },
            SigningCredentials = Current.Credentials,
        });
        return new ClientAssertion { Type = Duende.IdentityModel.OidcConstants.ClientAssertionTypes.JwtBearer, Value = jwt };
    }
}
