namespace Portcullis.Vault;

/// <summary>
/// The split-key data key of the session the current request carries (ADR 0032), from the moment its cookie has been
/// read and its data opened. It lives in a holder the request pipeline creates before anything reads a session
/// (<c>UsePortcullis</c>), so code that runs later in the same request, and the refresh it starts (which runs on after
/// the request ends, on the request's execution context), find it without every layer passing it along; the holder
/// dies with the request and its refreshes. Nothing here is ever logged or stored.
/// </summary>
internal static class SessionKeyScope
{
    private static readonly AsyncLocal<Holder?> Current = new();

    /// <summary>Starts an empty scope for one request.</summary>
    public static void Begin() => Current.Value = new Holder();

    /// <summary>The current session's data key; null outside a split-key session.</summary>
    public static byte[]? Key => Current.Value?.Key;

    /// <summary>Records the key of the session this request has proved it holds.</summary>
    public static void Set(byte[] key) =>
        (Current.Value ?? throw new InvalidOperationException("Split-key sessions need app.UsePortcullis() before the endpoints.")).Key = key;

    private sealed class Holder
    {
        public byte[]? Key;
    }
}
