namespace Portcullis.Storage;

/// <summary>Browser sessions, keyed by the hash of the cookie value.</summary>
public interface ISessionStore
{
    /// <summary>Inserts a new session.</summary>
    Task CreateSessionAsync(SessionRecord session, CancellationToken cancellationToken);

    /// <summary>The session with this key if it exists and has not expired at <paramref name="now"/>.</summary>
    Task<SessionRecord?> GetSessionAsync(string key, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// The session with this key (as <see cref="GetSessionAsync"/> answers) together with its grant, read in one round
    /// trip: every API call needs both (docs/adr/0017). The grant is null when it no longer exists. Built-in stores answer
    /// with one statement or script; this default makes two calls, for stores written before the method existed, and
    /// needs the same object to be the <see cref="IGrantStore"/> (as every complete backend is).
    /// </summary>
    async Task<SessionAndGrant?> GetSessionAndGrantAsync(string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (await GetSessionAsync(key, now, cancellationToken) is not { } session)
        {
            return null;
        }

        var grants = this as IGrantStore
            ?? throw new NotSupportedException($"{GetType().Name} must implement {nameof(GetSessionAndGrantAsync)} or {nameof(IGrantStore)}.");
        return new SessionAndGrant(session, await grants.GetGrantAsync(session.GrantId, cancellationToken));
    }

    /// <summary>Moves the session's last use and idle expiry forward.</summary>
    Task TouchSessionAsync(string key, DateTimeOffset lastSeenAt, DateTimeOffset idleExpiresAt, CancellationToken cancellationToken);

    /// <summary>Deletes the session; returns false when it did not exist.</summary>
    Task<bool> DeleteSessionAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes every session of the user ("log out everywhere"), or only those signed in through
    /// <paramref name="provider"/> when it is given (back-channel logout by <c>sub</c>); returns how many went.
    /// </summary>
    Task<int> DeleteSessionsForUserAsync(string userId, string? provider, CancellationToken cancellationToken);

    /// <summary>Deletes the sessions that use the grant (the provider no longer honours it); returns how many went.</summary>
    Task<int> DeleteSessionsForGrantAsync(string grantId, CancellationToken cancellationToken);

    /// <summary>Deletes the sessions of one provider-side session (<c>sid</c>, back-channel logout); returns how many went.</summary>
    Task<int> DeleteSessionsForProviderSessionAsync(string provider, string providerSessionId, CancellationToken cancellationToken);

    /// <summary>The user's sessions that have not expired at <paramref name="now"/>, newest first.</summary>
    Task<IReadOnlyList<SessionRecord>> ListSessionsForUserAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes the user's session with this handle; false when the user has no such session.</summary>
    Task<bool> DeleteSessionByHandleAsync(string userId, string handle, CancellationToken cancellationToken);

    /// <summary>How many sessions that have not expired at <paramref name="now"/> use the grant.</summary>
    Task<int> CountSessionsForGrantAsync(string grantId, DateTimeOffset now, CancellationToken cancellationToken);
}
