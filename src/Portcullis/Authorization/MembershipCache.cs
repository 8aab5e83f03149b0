using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Authorization;

/// <summary>What a provider said about a membership: admitted, refused with a reason, or no answer (retry later).</summary>
internal sealed record MembershipDecision(bool Admitted, string? Reason, int? RetryAfterSeconds = null)
{
    public static MembershipDecision Admit { get; } = new(true, null);

    public static MembershipDecision Refuse(string reason) => new(false, reason);

    public static MembershipDecision Unavailable(string reason, int retryAfterSeconds) => new(false, reason, Math.Max(1, retryAfterSeconds)) { IsAnswer = false };

    /// <summary>Only answers are kept; "could not ask" and token trouble are asked again next time.</summary>
    public bool IsAnswer { get; init; } = true;
}

/// <summary>
/// Provider membership answers per (grant, access token, requirement) for <c>MembershipCacheDuration</c>. In memory on
/// each node: several nodes each ask the provider once per period, which is acceptable for a rate-limited provider API.
/// The access token is part of the key (as a hash, never the token), so a refreshed token asks again ("re-checked at refresh").
/// </summary>
internal sealed class MembershipCache(TimeProvider time, IOptions<PortcullisOptions> options)
{
    private const int PruneThreshold = 10_000;

    private readonly ConcurrentDictionary<string, (MembershipDecision Decision, DateTimeOffset Expires)> _entries = new(StringComparer.Ordinal);
    private readonly TimeSpan _duration = options.Value.MembershipCacheDuration;

    public static string Key(string grantId, string accessToken, string requirement) =>
        $"{grantId}|{Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(accessToken)), 0, 16)}|{requirement}";

    public MembershipDecision? Find(string key)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (entry.Expires > time.GetUtcNow())
            {
                return entry.Decision;
            }

            _entries.TryRemove(KeyValuePair.Create(key, entry));
        }

        return null;
    }

    public void Remember(string key, MembershipDecision decision)
    {
        if (!decision.IsAnswer || _duration <= TimeSpan.Zero)
        {
            return;
        }

        var now = time.GetUtcNow();
        if (_entries.Count >= PruneThreshold)
        {
            foreach (var expired in _entries.Where(e => e.Value.Expires <= now))
            {
                _entries.TryRemove(expired);
            }
        }

        _entries[key] = (decision, now + _duration);
    }
}
