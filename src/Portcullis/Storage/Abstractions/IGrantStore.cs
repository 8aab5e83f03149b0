namespace Portcullis.Storage;

/// <summary>The encrypted tokens each user granted the gateway at each provider, with optimistic concurrency.</summary>
public interface IGrantStore
{
    /// <summary>The grant with this id, or null.</summary>
    Task<GrantRecord?> GetGrantAsync(string id, CancellationToken cancellationToken);

    /// <summary>The user's grant at <paramref name="provider"/>, or null.</summary>
    Task<GrantRecord?> FindGrantAsync(string userId, string provider, CancellationToken cancellationToken);

    /// <summary>Inserts a grant (when <paramref name="expectedVersion"/> is 0) or replaces it if its version still matches; false on a lost race.</summary>
    Task<bool> SaveGrantAsync(GrantRecord grant, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>Deletes the grant; nothing happens when it does not exist.</summary>
    Task DeleteGrantAsync(string id, CancellationToken cancellationToken);
}
