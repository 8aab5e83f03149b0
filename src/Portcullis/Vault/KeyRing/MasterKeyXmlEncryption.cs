using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Vault.KeyRing;

/// <summary>Encrypts each Data Protection key's XML with the master key before it reaches the repository (the store).</summary>
internal sealed class MasterKeyXmlEncryptor(MasterKey masterKey) : IXmlEncryptor
{
    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var sealedValue = masterKey.Seal(Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting)));
        var element = new XElement("encryptedKey",
            new XComment(" This key is encrypted with Portcullis:KeyProtection:MasterKey. "),
            new XElement("value", Convert.ToBase64String(sealedValue)));
        return new EncryptedXmlInfo(element, typeof(MasterKeyXmlDecryptor));
    }

    public static MasterKey FromOptions(PortcullisOptions options) =>
        new(MasterKey.TryDecode(options.KeyProtection.MasterKey)!, options.KeyProtection.PreviousMasterKeys.Select(k => MasterKey.TryDecode(k)!));
}

/// <summary>Data Protection creates this by type name when it reads an encrypted key, passing the service provider.</summary>
internal sealed class MasterKeyXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var options = services.GetRequiredService<IOptions<PortcullisOptions>>().Value;
        if (options.KeyProtection.MasterKey is null)
        {
            throw new InvalidOperationException("The key ring is encrypted but Portcullis:KeyProtection:MasterKey is not configured.");
        }

        var sealedValue = Convert.FromBase64String((string?)encryptedElement.Element("value") ?? "");
        return XElement.Parse(Encoding.UTF8.GetString(MasterKeyXmlEncryptor.FromOptions(options).Open(sealedValue)));
    }
}
