using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Portcullis.Storage;

/// <summary>
/// The Data Protection key ring a backend keeps for every node that shares its store; <see cref="Count"/> lets a node
/// notice keys others added (docs/adr/0013). The Vault seals every element before it reaches the backend and checks
/// the seal when it reads one back (docs/adr/0023), so a backend stores and returns text as it was given.
/// Data Protection's repository API is synchronous.
/// </summary>
public interface ISharedKeyRingRepository : IXmlRepository
{
    /// <summary>How many elements the ring holds now.</summary>
    int Count();

    /// <summary>Every stored element as the text it was stored as, with the name it was stored under, in storage order.</summary>
    IReadOnlyList<KeyRingEntry> GetAllEntries();

    /// <summary>Overwrites the element stored under <paramref name="friendlyName"/> (the one-time sealing of a ring written before docs/adr/0023).</summary>
    void ReplaceElement(string friendlyName, string xml);
}

/// <summary>One stored key-ring element: the name it was stored under and its text, unparsed (it may be anything a writer of the store put there).</summary>
public sealed record KeyRingEntry(string Name, string Xml);
