using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Portcullis.Vault.KeyRing;

namespace Portcullis.Vault;

/// <summary>
/// The keyed hash that lets an operator find a user by e-mail without the store holding a list of addresses (issue 19,
/// ADR 0039): HMAC-SHA256 of the address, trimmed and with ASCII letters lower-cased, under a key derived from the master key
/// for this use alone. A copy of the store without the master key cannot be searched by guessing addresses. The key is
/// resolved on first use, so a host that never looks up an e-mail never needs it.
/// </summary>
internal sealed class EmailLookupHasher(IServiceProvider services)
{
    // Part of every stored hash: changing it makes every user unfindable by e-mail until their next login.
    private const string Purpose = "Portcullis.EmailLookup.v1";

    private readonly Lazy<IReadOnlyList<byte[]>> _keys = new(() => services.GetRequiredService<MasterKey>().Derive(Purpose));

    /// <summary>The hash to store for <paramref name="email"/> (under the current master key), or null when there is no address.</summary>
    public string? Hash(string? email) => Normalize(email) is { } normalized ? Compute(_keys.Value[0], normalized) : null;

    /// <summary>
    /// Every hash <paramref name="email"/> may be stored under: the current master key's, then each previous one's (an
    /// identity keeps its hash until its next login, so a rotation must not make it unfindable). Empty when there is no address.
    /// </summary>
    public IReadOnlyList<string> Candidates(string? email) =>
        Normalize(email) is { } normalized ? [.. _keys.Value.Select(key => Compute(key, normalized)).Distinct(StringComparer.Ordinal)] : [];

    /// <summary>
    /// Trimmed, A-Z lower-cased, nothing else: no culture or Unicode case folding, under which distinct addresses meet
    /// (U+212A KELVIN SIGN lower-cases to 'k', so "\u212Aen@corp" would find ken@corp; security review finding 6).
    /// </summary>
    private static string? Normalize(string? email) =>
        email?.Trim() is { Length: > 0 } trimmed ? string.Create(trimmed.Length, trimmed, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsAsciiLetterUpper(source[i]) ? (char)(source[i] | 0x20) : source[i];
            }
        }) : null;

    private static string Compute(byte[] key, string normalized) => Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(normalized)));
}
