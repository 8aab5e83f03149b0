namespace Portcullis.Configuration;

/// <summary>The values of <c>Portcullis:Session:Mode</c> (issue 15, docs/security.md "Session modes").</summary>
public static class SessionModes
{
    /// <summary>The cookie holds a random id; the store holds the session and its tokens, encrypted with the server's keys.</summary>
    public const string Server = "server";

    /// <summary>The store holds each session's tokens encrypted with a key that exists only in that session's cookie (ADR 0032).</summary>
    public const string SplitKey = "split-key";

    /// <summary>No store: the tokens are encrypted into the browser's cookies (ADR 0033).</summary>
    public const string Stateless = "stateless";
}
