using System.Collections.Concurrent;
using Portcullis.Storage;

namespace Portcullis.Sessions;

/// <summary>
/// The store key (<see cref="Identifiers.Hash"/>) of the session cookies this node has lately seen belong to a session.
/// Every API call of a signed-in user needs its cookie's key, and SHA-256 through OpenSSL costs about a microsecond of
/// CPU per request, the largest single item on the hot path (issue 18, ADR 0046).
/// <para>
/// The key is a pure function of the cookie, so an entry can never be stale: a session ended anywhere has a key the
/// store (or the session cache) no longer answers for. Only cookies that opened a session are remembered, so a flood of
/// made-up cookies cannot push real users out; when full, the memo starts over. The store still sees only hashes.
/// </para>
/// </summary>
internal sealed class SessionKeyMemo(int capacity)
{
    private readonly ConcurrentDictionary<string, string> _keys = new(StringComparer.Ordinal);
    private int _count;

    /// <summary>Cookies remembered now (for tests and diagnostics).</summary>
    public int Count => _keys.Count;

    /// <summary>The cookie's store key; <paramref name="remembered"/> says whether it came from the memo (one lookup per request).</summary>
    public string KeyOf(string cookieValue, out bool remembered)
    {
        remembered = _keys.TryGetValue(cookieValue, out var key);
        return remembered ? key! : Identifiers.Hash(cookieValue);
    }

    /// <summary>
    /// Remembers a cookie that opened a session. The key is computed here, once per cookie, never taken from the caller:
    /// whatever calls this, a cookie can only ever map to its own hash.
    /// </summary>
    public void Remember(string cookieValue)
    {
        if (_keys.ContainsKey(cookieValue))
        {
            return;
        }

        var key = Identifiers.Hash(cookieValue);

        // A rough bound, like the session cache's: a race may let a few more in before the count is seen.
        if (Interlocked.Increment(ref _count) > capacity)
        {
            _keys.Clear();
            Volatile.Write(ref _count, 1);
        }

        _keys.TryAdd(cookieValue, key);
    }

    /// <summary>
    /// Forgets a cookie whose session this node has just ended. Best effort: a request of that session already past its
    /// checks may remember it again, and sessions ended elsewhere or expired stay until the memo starts over. Either way
    /// the entry maps to a key no session has any more.
    /// </summary>
    public void Forget(string cookieValue)
    {
        if (_keys.TryRemove(cookieValue, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
