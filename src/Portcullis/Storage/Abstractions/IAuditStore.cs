namespace Portcullis.Storage;

/// <summary>The audit log: append-only, queried newest first.</summary>
public interface IAuditStore
{
    /// <summary>Appends one entry (the store assigns its id).</summary>
    Task AppendAuditAsync(AuditRecord entry, CancellationToken cancellationToken);

    /// <summary>The entries that match <paramref name="query"/>, newest first.</summary>
    Task<IReadOnlyList<AuditRecord>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken);
}
