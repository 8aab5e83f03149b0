using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Portcullis.Storage;

/// <summary>
/// The Data Protection key ring a backend keeps for every node that shares its store; <see cref="Count"/> lets a node
/// notice keys others added (docs/adr/0013). Data Protection's repository API is synchronous.
/// </summary>
public interface ISharedKeyRingRepository : IXmlRepository
{
    /// <summary>How many keys the ring holds now.</summary>
    int Count();
}
