namespace Portcullis.Storage;

/// <summary>Logins in progress, between the redirect to the provider and the callback (DESIGN.md invariant 5).</summary>
public interface ILoginTransactionStore
{
    /// <summary>Saves the transaction, keeping only the newest <paramref name="maxPerBinding"/> of its browser binding.</summary>
    Task SaveLoginTransactionAsync(LoginTransactionRecord transaction, int maxPerBinding, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Removes and returns the transaction when both its key and its browser binding match and it has not expired;
    /// otherwise returns null and changes nothing. Removal makes each transaction single-use.
    /// </summary>
    Task<LoginTransactionRecord?> TakeLoginTransactionAsync(string key, string bindingHash, DateTimeOffset now, CancellationToken cancellationToken);
}
