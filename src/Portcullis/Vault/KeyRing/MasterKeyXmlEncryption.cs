using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.DependencyInjection;

namespace Portcullis.Vault.KeyRing;

/// <summary>Encrypts each Data Protection key's secret with the master key before it reaches the repository (the store).</summary>
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
}

/// <summary>Data Protection creates this by type name when it reads an encrypted key, passing the service provider.</summary>
internal sealed class MasterKeyXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement) => Decrypt(encryptedElement, services.GetRequiredService<MasterKey>());

    /// <summary>Opens an <c>encryptedKey</c> element; throws <see cref="System.Security.Cryptography.CryptographicException"/> if the master key does not.</summary>
    public static XElement Decrypt(XElement encryptedElement, MasterKey masterKey)
    {
        var sealedValue = Convert.FromBase64String((string?)encryptedElement.Element("value") ?? "");
        return XElement.Parse(Encoding.UTF8.GetString(masterKey.Open(sealedValue)));
    }
}
