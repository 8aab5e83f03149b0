using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Portcullis.Storage.Sqlite;

/// <summary>The embedded default: Data Protection's own files in a folder beside the SQLite database.</summary>
internal sealed class DirectoryKeyRingRepository(DirectoryInfo directory, Microsoft.Extensions.Logging.ILoggerFactory loggerFactory) : ISharedKeyRingRepository
{
    private readonly FileSystemXmlRepository _files = new(directory, loggerFactory);

    public IReadOnlyCollection<XElement> GetAllElements() => _files.GetAllElements();

    public void StoreElement(XElement element, string friendlyName) => _files.StoreElement(element, friendlyName);

    public int Count() => directory.Exists ? directory.GetFiles("*.xml").Length : 0;
}
