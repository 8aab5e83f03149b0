namespace Portcullis.Configuration;

/// <summary>
/// The Data Protection key ring: where it lives follows <c>Store:Kind</c> (files beside SQLite, a table in PostgreSQL,
/// a hash in Redis); this section protects the keys at rest and rotates them.
/// </summary>
public sealed class KeyProtectionOptions
{
    /// <summary>
    /// Base64 of 32 random bytes (<c>openssl rand -base64 32</c>) that encrypts every key of the ring at rest (AES-256-GCM).
    /// Required with a shared store (<c>postgres</c>, <c>redis</c>); optional with SQLite. Give it through the environment
    /// (<c>Portcullis__KeyProtection__MasterKey</c>), never in a file next to the data.
    /// </summary>
    public string? MasterKey { get; set; }

    /// <summary>
    /// Master keys used before the current one, still accepted to decrypt keys written under them (master-key rotation).
    /// </summary>
    public List<string> PreviousMasterKeys { get; set; } = [];

    /// <summary>How long a new key is the one new data is encrypted with; Data Protection creates the next one before it ends (automatic rotation). The default value is 90 days.</summary>
    public TimeSpan RotationInterval { get; set; } = TimeSpan.FromDays(90);

    /// <summary>How often a node looks for keys other nodes (or <c>rotate-keys</c>) added to the shared ring. The default value is 1 minute.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(1);
}
