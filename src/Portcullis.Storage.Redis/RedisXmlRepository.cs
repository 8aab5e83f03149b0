using System.Xml.Linq;
using StackExchange.Redis;

namespace Portcullis.Storage.Redis;

/// <summary>The key ring in one Redis hash, <c>{prefix}keyring</c>: friendly name → XML.</summary>
internal sealed class RedisXmlRepository(RedisStore store) : ISharedKeyRingRepository
{
    private RedisKey Key => store.Prefix + "keyring";

    private IDatabase Database => store.DatabaseAsync().GetAwaiter().GetResult();

    public IReadOnlyCollection<XElement> GetAllElements() => GetAllEntries().Select(e => XElement.Parse(e.Xml)).ToList();

    public IReadOnlyList<KeyRingEntry> GetAllEntries() =>
        Database.HashGetAll(Key).OrderBy(e => (string?)e.Name, StringComparer.Ordinal).Select(e => new KeyRingEntry((string)e.Name!, (string)e.Value!)).ToList();

    public void StoreElement(XElement element, string friendlyName) =>
        Database.HashSet(Key, friendlyName, element.ToString(SaveOptions.DisableFormatting), When.NotExists);

    public void ReplaceElement(string friendlyName, string xml) => Database.HashSet(Key, friendlyName, xml, When.Exists);

    public int Count() => (int)Database.HashLength(Key);
}
