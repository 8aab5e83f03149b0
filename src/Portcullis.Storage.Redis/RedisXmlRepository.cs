using System.Xml.Linq;
using StackExchange.Redis;

namespace Portcullis.Storage.Redis;

/// <summary>The key ring in one Redis hash, <c>{prefix}keyring</c>: friendly name → XML.</summary>
internal sealed class RedisXmlRepository(RedisStore store) : ISharedKeyRingRepository
{
    private RedisKey Key => store.Prefix + "keyring";

    private IDatabase Database => store.DatabaseAsync().GetAwaiter().GetResult();

    public IReadOnlyCollection<XElement> GetAllElements() =>
        Database.HashGetAll(Key).OrderBy(e => (string?)e.Name, StringComparer.Ordinal).Select(e => XElement.Parse((string)e.Value!)).ToList();

    public void StoreElement(XElement element, string friendlyName) =>
        Database.HashSet(Key, friendlyName, element.ToString(SaveOptions.DisableFormatting), When.NotExists);

    public int Count() => (int)Database.HashLength(Key);
}
