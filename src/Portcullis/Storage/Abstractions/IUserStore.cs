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

    /// <summary>
    /// Records on the identity (provider, subject) the keyed hash of its e-mail address, or clears it with null; nothing
    /// happens when the identity does not exist. The store never sees the address itself: the hash is an HMAC under a
    /// key derived from the master key (ADR 0039), so the index lets an operator find a user by e-mail without being a
    /// plaintext list of addresses.
    /// </summary>
    Task SetIdentityEmailHashAsync(string provider, string subject, string? emailHash, CancellationToken cancellationToken);

    /// <summary>
    /// The ids of the users who have an identity whose e-mail hash is one of <paramref name="emailHashes"/> (the hash under
    /// the current key and those under previous ones), each once, in no particular order; empty when nobody has one.
    /// </summary>
    Task<IReadOnlyList<string>> FindUsersByEmailHashAsync(IReadOnlyList<string> emailHashes, CancellationToken cancellationToken);
}
