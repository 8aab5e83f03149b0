using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Portcullis.Agent;
using Portcullis.Configuration;
using Portcullis.Sessions;

namespace Portcullis.Proxy;

/// <summary>
/// Signs the identity assertions of <c>Token: assertion</c> routes (issue 20 item 3, ADR 0041): a JWT about the signed-in
/// user for an upstream that does not speak OAuth, instead of unsigned identity headers a client could forge or a
/// provider token meant for someone else. <c>iss</c> is the gateway's public origin, <c>aud</c> the route's name (an
/// assertion minted for one route is refused by another's upstream), <c>sub</c> and <c>idp</c> the user at the
/// provider, plus the claims the route lists; it lives <see cref="AssertionOptions.Lifetime"/> and has a fresh
/// <c>jti</c>. The keys follow the options in force, so a reload that rotates them takes effect.
/// </summary>
internal sealed class IdentityAssertions(ReloadableOptions options, TimeProvider time)
{
    /// <summary>The JWT <c>typ</c> (RFC 8725 §3.11): an upstream can tell an assertion from any other JWT it sees.</summary>
    public const string TokenType = "portcullis-assertion+jwt";

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    private Keys? _keys;

    /// <summary>The public JWKs of the signing key and the next one, for <c>/.well-known/portcullis/jwks</c>; empty when none is configured.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> PublicKeys => Current()?.Public ?? [];

    /// <summary>An assertion for <paramref name="session"/>'s user on <paramref name="route"/>; null when no signing key is configured.</summary>
    public string? Create(CurrentSession session, ApiRoute route)
    {
        if (Current() is not { } keys)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var lifetime = options.Current.Assertions.Lifetime;
        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["sub"] = session.Data.Subject,
            ["idp"] = session.Record.Provider,
            ["jti"] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
        };
        foreach (var name in route.AssertionClaims)
        {
            if (session.Data.Claims.TryGetValue(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
            {
                claims[name] = value;
            }
        }

        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Current.PublicOrigin,
            Audience = route.Name,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + lifetime).UtcDateTime,
            Claims = claims,
            TokenType = TokenType,
            SigningCredentials = keys.Signing.Credentials,
        });
    }

    /// <summary>The keys of the options in force, read again only when their configuration changed.</summary>
    private Keys? Current()
    {
        var configured = options.Current.Assertions;
        var keys = Volatile.Read(ref _keys);
        if (keys is not null && keys.IsFor(configured))
        {
            return keys;
        }

        if (string.IsNullOrWhiteSpace(configured.SigningKey) || string.IsNullOrWhiteSpace(configured.SigningKeyId))
        {
            return null;
        }

        // Readable by now: AssertionKeysValidator refused start-up, or the reload, otherwise.
        var signing = ClientSigningKey.Read(configured.SigningKey, configured.SigningKeyId).Key;
        if (signing is null)
        {
            return null;
        }

        var next = string.IsNullOrWhiteSpace(configured.NextSigningKey) || string.IsNullOrWhiteSpace(configured.NextSigningKeyId)
            ? null
            : ClientSigningKey.Read(configured.NextSigningKey, configured.NextSigningKeyId).Key;
        keys = new Keys(configured.SigningKey, configured.SigningKeyId, configured.NextSigningKey, configured.NextSigningKeyId, signing, next);
        Volatile.Write(ref _keys, keys);
        return keys;
    }

    private sealed record Keys(string Value, string Id, string? NextValue, string? NextId, ClientSigningKey Signing, ClientSigningKey? Next)
    {
        public IReadOnlyList<IReadOnlyDictionary<string, string>> Public { get; } = Next is null ? [Signing.PublicJwk] : [Signing.PublicJwk, Next.PublicJwk];

        public bool IsFor(AssertionOptions options) =>
            options.SigningKey == Value && options.SigningKeyId == Id && options.NextSigningKey == NextValue && options.NextSigningKeyId == NextId;
    }
}

/// <summary>
/// Start-up (and reload) check of the assertion keys: each readable as a private EC or RSA key, with a <c>kid</c>, the two
/// <c>kid</c>s different, and a positive lifetime. Messages name the key, never its value (it may be the key itself).
/// </summary>
internal sealed class AssertionKeysValidator : Microsoft.Extensions.Options.IValidateOptions<PortcullisOptions>
{
    private const string Key = $"{PortcullisOptions.SectionName}:Assertions";

    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, PortcullisOptions options)
    {
        var assertions = options.Assertions;
        var errors = new List<string>();
        Check("SigningKey", assertions.SigningKey, assertions.SigningKeyId, errors);
        Check("NextSigningKey", assertions.NextSigningKey, assertions.NextSigningKeyId, errors);
        if (!string.IsNullOrWhiteSpace(assertions.NextSigningKey) && string.IsNullOrWhiteSpace(assertions.SigningKey))
        {
            errors.Add($"{Key}:NextSigningKey needs {Key}:SigningKey: the next key signs nothing until it becomes the signing key.");
        }

        if (assertions.NextSigningKeyId is { Length: > 0 } nextId && nextId == assertions.SigningKeyId)
        {
            errors.Add($"{Key}:NextSigningKeyId must differ from {Key}:SigningKeyId.");
        }

        if (assertions.Lifetime <= TimeSpan.Zero || assertions.Lifetime > TimeSpan.FromHours(1))
        {
            errors.Add($"{Key}:Lifetime must be between 0 and one hour (got {assertions.Lifetime}).");
        }

        return errors.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(errors);
    }

    private static void Check(string member, string? value, string? keyId, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(keyId))
        {
            errors.Add($"{Key}:{member}Id is required with {Key}:{member}.");
            return;
        }

        if (ClientSigningKey.Read(value, keyId).Error is { } error)
        {
            errors.Add($"{Key}:{member} {error}.");
        }
    }
}
