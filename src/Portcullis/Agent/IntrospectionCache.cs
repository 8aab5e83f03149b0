using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Portcullis.Agent;

/// <summary>
/// Positive introspection answers (ADR 0042), so a CLI that calls many times costs one introspection per
/// <see cref="MaxAge"/>, not one per call. Keyed by a hash of the token, never the token; an entry lives at most
/// <see cref="MaxAge"/> and never past the token's <c>exp</c>, which bounds how long a token revoked at the provider still
/// passes here. Refusals are not kept: a token that becomes active cannot, and a bad one is asked about again. In memory,
/// per node, with at most <see cref="Capacity"/> entries.
/// </summary>
internal sealed class IntrospectionCache(TimeProvider time)
{
    /// <summary>The longest a positive answer is used without asking again. The value is 30 seconds.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(30);

    /// <summary>Entries kept at most; when full, expired ones go, and if none has, nothing new is kept. The value is 10,000.</summary>
    public const int Capacity = 10_000;

    private readonly ConcurrentDictionary<string, (IReadOnlyDictionary<string, JsonElement> Claims, DateTimeOffset Expires)> _entries = new(StringComparer.Ordinal);

    /// <summary>The provider's name and a SHA-256 of the token: a copy of this process's memory gives no token.</summary>
    public static string Key(string provider, string token) =>
        provider + "|" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public IReadOnlyDictionary<string, JsonElement>? Find(string key)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (entry.Expires > time.GetUtcNow())
            {
                return entry.Claims;
            }

            _entries.TryRemove(KeyValuePair.Create(key, entry));
        }

        return null;
    }

    public void Remember(string key, IReadOnlyDictionary<string, JsonElement> claims, DateTimeOffset tokenExpires)
    {
        var now = time.GetUtcNow();
        var expires = tokenExpires < now + MaxAge ? tokenExpires : now + MaxAge;
        if (expires <= now)
        {
            return;
        }

        if (_entries.Count >= Capacity)
        {
            foreach (var expired in _entries.Where(e => e.Value.Expires <= now))
            {
                _entries.TryRemove(expired);
            }

            if (_entries.Count >= Capacity)
            {
                return;
            }
        }

        _entries[key] = (claims, expires);
    }
}
