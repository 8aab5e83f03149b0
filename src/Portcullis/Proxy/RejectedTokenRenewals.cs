using System.Collections.Concurrent;

namespace Portcullis.Proxy;

/// <summary>
/// Access tokens this node obtained because an upstream had refused their predecessor (a 401 renews the token once and
/// retries once). If such a token is refused too, the 401 is about something else (the caller, the resource, an upstream
/// that always answers 401), and renewing again would cost a token request at the provider on every call: a client
/// route hit anonymously, or a user's own requests, could then drive the gateway's client into the provider's rate
/// limit. So for <see cref="Floor"/> after it was obtained, a 401 to such a token passes through as it is.
/// </summary>
internal sealed class RejectedTokenRenewals(TimeProvider time)
{
    /// <summary>How long a token renewed after a 401 is not renewed again for one.</summary>
    public static readonly TimeSpan Floor = TimeSpan.FromMinutes(1);

    // Each entry stands for a renewal the provider granted, so an attacker cannot add them faster than tokens are issued;
    // the cap only keeps a burst of them from growing without end.
    private const int Capacity = 10_000;

    private readonly ConcurrentDictionary<string, long> _renewedAt = new(StringComparer.Ordinal);

    // The latest renewal's timestamp (0: none yet). Every request asks; while no renewal is younger than the floor the
    // answer needs no lookup (ConcurrentDictionary.IsEmpty would take every lock when empty, and hashing a token is not free).
    private long _latest;

    /// <summary>Whether a 401 to <paramref name="accessToken"/> may renew it (nothing to look up on the common path).</summary>
    public bool MayRenew(string accessToken)
    {
        var latest = Volatile.Read(ref _latest);
        return latest == 0 || time.GetElapsedTime(latest) >= Floor
            || !_renewedAt.TryGetValue(accessToken, out var renewedAt) || time.GetElapsedTime(renewedAt) >= Floor;
    }

    /// <summary>Records <paramref name="accessToken"/> as obtained because an upstream refused the one before it.</summary>
    public void Renewed(string accessToken)
    {
        if (_renewedAt.Count >= Capacity)
        {
            foreach (var entry in _renewedAt.Where(entry => time.GetElapsedTime(entry.Value) >= Floor))
            {
                _renewedAt.TryRemove(entry);
            }

            if (_renewedAt.Count >= Capacity)
            {
                _renewedAt.Clear(); // crude, never unbounded: the worst is one more renewal per token
            }
        }

        var now = time.GetTimestamp();
        _renewedAt[accessToken] = now;
        Volatile.Write(ref _latest, now);
    }
}
