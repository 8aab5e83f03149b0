using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using Portcullis.Storage;

namespace Portcullis.Vault.KeyRing;

/// <summary>
/// Seals every key-ring element with the master key before the backend stores it, and hands Data Protection only the
/// elements whose seal opens (issue 17 item 2, docs/adr/0023). Data Protection itself accepts any <c>&lt;key&gt;</c> or
/// <c>&lt;revocation&gt;</c> a writer of the store puts there; behind this, a plaintext key or a revocation inserted
/// without the master key is ignored and logged.
/// </summary>
/// <remarks>
/// A sealed element is <c>&lt;sealed v="1"&gt;base64(AES-256-GCM)&lt;/sealed&gt;</c> under the master key (its key id
/// picks the current or a previous one), over the element's text, with the name it is stored under in the associated
/// data: a sealed element copied under another name does not open.
/// </remarks>
internal sealed class SealedKeyRingRepository(
    ISharedKeyRingRepository inner, MasterKey masterKey, bool acceptsUnencryptedLegacyKeys, ILogger logger) : ISharedKeyRingRepository
{
    private const string EnvelopeName = "sealed";
    private const string Version = "1";
    private const int MaxRejectionsRemembered = 1000;

    // Versioned; changing it makes every sealed element unreadable, which logs everyone out.
    private static readonly byte[] Purpose = "Portcullis.KeyRing.Element.v1:"u8.ToArray();

    private readonly Lock _migration = new();
    private readonly ConcurrentDictionary<string, byte> _rejected = new(StringComparer.Ordinal);
    private volatile bool _migrated;

    /// <summary>The backend's own repository (tests use it to play a writer of the store).</summary>
    public ISharedKeyRingRepository Inner => inner;

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        EnsureMigrated();
        var elements = new List<XElement>();
        foreach (var entry in inner.GetAllEntries())
        {
            var (element, refusal) = Open(entry);
            if (element is not null)
            {
                elements.Add(element);
            }
            else
            {
                Reject(entry, refusal!);
            }
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        EnsureMigrated();
        inner.StoreElement(Seal(element, friendlyName), friendlyName);
    }

    public IReadOnlyList<KeyRingEntry> GetAllEntries() => inner.GetAllEntries();

    public void ReplaceElement(string friendlyName, string xml) => inner.ReplaceElement(friendlyName, xml);

    public int Count() => inner.Count();

    public XElement Seal(XElement element, string friendlyName) => Seal(masterKey, element, friendlyName);

    /// <summary>The sealed envelope of <paramref name="element"/> stored as <paramref name="friendlyName"/>.</summary>
    public static XElement Seal(MasterKey masterKey, XElement element, string friendlyName)
    {
        var sealedValue = masterKey.Seal(Encoding.UTF8.GetBytes(element.ToString(SaveOptions.DisableFormatting)), AssociatedData(friendlyName));
        return new XElement(EnvelopeName, new XAttribute("v", Version), Convert.ToBase64String(sealedValue));
    }

    /// <summary>The element inside a sealed entry, or why there is none (a fixed phrase, never the entry's content).</summary>
    private (XElement? Element, string? Refusal) Open(KeyRingEntry entry)
    {
        if (Parse(entry.Xml) is not { } envelope)
        {
            return (null, "not XML");
        }

        if (envelope.Name.LocalName != EnvelopeName || (string?)envelope.Attribute("v") != Version)
        {
            return (null, "not sealed with the master key");
        }

        try
        {
            var plaintext = masterKey.Open(Convert.FromBase64String(envelope.Value), AssociatedData(entry.Name));
            return Parse(Encoding.UTF8.GetString(plaintext)) is { } element ? (element, null) : (null, "sealed content is not XML");
        }
        catch (Exception exception) when (exception is CryptographicException or FormatException)
        {
            return (null, "its seal does not open with the master key or a previous one");
        }
    }

    /// <summary>
    /// Seals, once, a ring written before sealing existed (no sealed element in it yet), keeping what that version
    /// trusted and can still be shown to be genuine: keys whose secret opens under the master key, plaintext keys of the
    /// embedded ring (a local folder only its owner can enter), and revocations (they only withdraw trust). A plaintext
    /// key in a shared store is never genuine (the master key was required there) and is left out, as is anything else.
    /// </summary>
    private void EnsureMigrated()
    {
        if (_migrated)
        {
            return;
        }

        lock (_migration)
        {
            if (_migrated)
            {
                return;
            }

            var entries = inner.GetAllEntries();
            if (!entries.Any(e => Parse(e.Xml)?.Name.LocalName == EnvelopeName))
            {
                var sealedCount = 0;
                foreach (var entry in entries)
                {
                    if (Parse(entry.Xml) is { } element && IsGenuineLegacyElement(element))
                    {
                        inner.ReplaceElement(entry.Name, Seal(element, entry.Name).ToString(SaveOptions.DisableFormatting));
                        sealedCount++;
                    }
                }

                if (sealedCount > 0)
                {
                    Diagnostics.Log.KeyRingSealed(logger, sealedCount);
                }
            }

            _migrated = true;
        }
    }

    private bool IsGenuineLegacyElement(XElement element)
    {
        switch (element.Name.LocalName)
        {
            case "revocation":
                return true;
            case "key":
                var secrets = element.Descendants().Where(d => d.Name.LocalName == "encryptedSecret").ToList();
                if (secrets.Count == 0)
                {
                    return acceptsUnencryptedLegacyKeys;
                }

                try
                {
                    return secrets.All(secret =>
                        ((string?)secret.Attribute("decryptorType"))?.StartsWith(typeof(MasterKeyXmlDecryptor).FullName + ",", StringComparison.Ordinal) == true
                        && secret.Elements().SingleOrDefault() is { } encrypted
                        && MasterKeyXmlDecryptor.Decrypt(encrypted, masterKey) is not null);
                }
                catch (Exception exception) when (exception is CryptographicException or FormatException or XmlException)
                {
                    return false;
                }

            default:
                return false;
        }
    }

    /// <summary>Logs an ignored entry once per name and reason, so an attacker's insert (or a reload loop) cannot flood the log.</summary>
    private void Reject(KeyRingEntry entry, string refusal)
    {
        if (_rejected.Count < MaxRejectionsRemembered && _rejected.TryAdd(entry.Name + "\n" + refusal, 0))
        {
            Diagnostics.Log.KeyRingElementRejected(logger, Printable(entry.Name), refusal);
        }
    }

    private static XElement? Parse(string xml)
    {
        try
        {
            return XElement.Parse(xml);
        }
        catch (XmlException)
        {
            return null;
        }
    }

    private static byte[] AssociatedData(string friendlyName) => [.. Purpose, .. Encoding.UTF8.GetBytes(friendlyName)];

    /// <summary>The name as a writer of the store chose it, cut short and without control characters, for the log.</summary>
    private static string Printable(string name)
    {
        var cut = name.Length > 80 ? name[..80] + "…" : name;
        return new string(cut.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }
}
