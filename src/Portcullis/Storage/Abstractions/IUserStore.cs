namespace Portcullis.Storage;

/// <summary>Users and the provider identities (provider, subject) they sign in with.</summary>
public interface IUserStore
{
    /// <summary>
    /// Returns the user the identity (provider, subject) belongs to, creating both on first sight; safe under concurrent
    /// calls. A linked identity returns the user it was linked to.
    /// </summary>
    Task<UserRecord> GetOrCreateUserAsync(string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The user for (provider, subject), or null when the gateway has never seen them.</summary>
    Task<UserRecord?> FindUserAsync(string provider, string subject, CancellationToken cancellationToken);

    /// <summary>
    /// Adds the identity (provider, subject) to an existing user, unless it already belongs to someone: identities
    /// move only by explicit linking of a new one, never by re-assignment.
    /// </summary>
    Task<IdentityLinkResult> LinkIdentityAsync(string userId, string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Every identity of the user, oldest first.</summary>
    Task<IReadOnlyList<IdentityRecord>> GetIdentitiesAsync(string userId, CancellationToken cancellationToken);
}
