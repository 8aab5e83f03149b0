using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace Portcullis.Simulators;

/// <summary>An authorization code waiting to be redeemed.</summary>
internal sealed record PendingCode(SimulatedUser User, string RedirectUri, string Scope, string? CodeChallenge, DateTimeOffset ExpiresAt);

/// <summary>An issued token and what it stands for.</summary>
internal sealed record IssuedToken(SimulatedUser User, string Scope, DateTimeOffset? ExpiresAt, string Family)
{
    public bool HasScope(string scope) => Scope.Split(' ', ',').Contains(scope, StringComparer.Ordinal);
}

/// <summary>
/// Codes, access tokens and refresh tokens of a simulator. Codes and refresh tokens are single-use (refresh rotates);
/// a "family" is one authorization, so revoking it removes every token that came from it.
/// </summary>
internal sealed class TokenBook(SimulatorObservations observations)
{
    private readonly ConcurrentDictionary<string, PendingCode> _codes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IssuedToken> _access = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IssuedToken> _refresh = new(StringComparer.Ordinal);

    /// <summary>The simulator's clock for code and token expiry. The default value is <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    public string IssueCode(SimulatedUser user, string redirectUri, string scope, string? codeChallenge)
    {
        var code = Random(20);
        _codes[code] = new PendingCode(user, redirectUri, scope, codeChallenge, Time.GetUtcNow().AddMinutes(10));
        return code;
    }

    /// <summary>Removes and returns the code: a second redemption finds nothing.</summary>
    public PendingCode? TakeCode(string? code) =>
        code is not null && _codes.TryRemove(code, out var pending) && pending.ExpiresAt > Time.GetUtcNow() ? pending : null;

    public string IssueAccessToken(SimulatedUser user, string scope, TimeSpan? lifetime, string family, string prefix)
    {
        var token = prefix + Random(30);
        _access[token] = new IssuedToken(user, scope, lifetime is { } l ? Time.GetUtcNow() + l : null, family);
        observations.IssuedTokens.Enqueue(token);
        return token;
    }

    public string IssueRefreshToken(SimulatedUser user, string scope, string family, string prefix)
    {
        var token = prefix + Random(30);
        _refresh[token] = new IssuedToken(user, scope, null, family);
        observations.IssuedTokens.Enqueue(token);
        return token;
    }

    /// <summary>Rotation: a refresh token works once.</summary>
    public IssuedToken? TakeRefreshToken(string? token) => token is not null && _refresh.TryRemove(token, out var issued) ? issued : null;

    public IssuedToken? FindAccessToken(string? token) =>
        token is not null && _access.TryGetValue(token, out var issued) && (issued.ExpiresAt is null || issued.ExpiresAt > Time.GetUtcNow()) ? issued : null;

    public IssuedToken? FindAny(string? token) =>
        token is null ? null : _access.TryGetValue(token, out var access) ? access : _refresh.TryGetValue(token, out var refresh) ? refresh : null;

    /// <summary>Removes every token of one authorization; returns how many went.</summary>
    public int RevokeFamily(string family) =>
        _access.Where(t => t.Value.Family == family).Count(t => _access.TryRemove(t.Key, out _))
        + _refresh.Where(t => t.Value.Family == family).Count(t => _refresh.TryRemove(t.Key, out _));

    /// <summary>Removes every token of a user (the app's whole grant); returns how many went.</summary>
    public int RevokeUser(string userId) =>
        _access.Where(t => t.Value.User.Id == userId).Count(t => _access.TryRemove(t.Key, out _))
        + _refresh.Where(t => t.Value.User.Id == userId).Count(t => _refresh.TryRemove(t.Key, out _));

    public bool RevokeAccessToken(string token) => _access.TryRemove(token, out _);

    public static string NewFamily() => Random(12);

    /// <summary>RFC 7636 S256.</summary>
    public static bool VerifierMatches(string? challenge, string? verifier) =>
        challenge is null
        || (verifier is not null && WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))) == challenge);

    private static string Random(int bytes) => WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(bytes));
}
