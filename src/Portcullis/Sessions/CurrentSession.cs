using Portcullis.Storage;

namespace Portcullis.Sessions;

/// <summary>
/// The session a request belongs to, resolved and decrypted once per request, with its grant as read in the same round
/// trip (null when the grant is gone). The grant is a snapshot: refreshing re-reads it from the store.
/// </summary>
internal sealed record CurrentSession(SessionRecord Record, SessionData Data, GrantRecord? Grant)
{
    /// <summary>
    /// A stateless session (ADR 0033): <see cref="Record"/> is made from its cookie, there is no grant row, and its tokens
    /// are the request's (<see cref="SessionTokens"/>).
    /// </summary>
    public bool Stateless { get; init; }
}
