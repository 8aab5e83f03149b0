using System.Xml.Linq;

namespace Portcullis.Storage.Sqlite;

/// <summary>
/// The embedded default: one file per element (<c>{name}.xml</c>, the layout Data Protection's own file repository
/// used, so rings written before docs/adr/0023 are read as they are) in a private folder beside the SQLite database.
/// New files are created readable by their owner only (0600).
/// </summary>
internal sealed class DirectoryKeyRingRepository(DirectoryInfo directory) : ISharedKeyRingRepository
{
    public IReadOnlyCollection<XElement> GetAllElements() => GetAllEntries().Select(e => XElement.Parse(e.Xml)).ToList();

    public IReadOnlyList<KeyRingEntry> GetAllEntries()
    {
        directory.Refresh();
        return directory.Exists
            ? directory.GetFiles("*.xml").OrderBy(f => f.Name, StringComparer.Ordinal)
                .Select(f => new KeyRingEntry(Path.GetFileNameWithoutExtension(f.Name), File.ReadAllText(f.FullName))).ToList()
            : [];
    }

    public void StoreElement(XElement element, string friendlyName) => Write(friendlyName, element.ToString(SaveOptions.DisableFormatting), overwrite: false);

    public void ReplaceElement(string friendlyName, string xml) => Write(friendlyName, xml, overwrite: true);

    public int Count() => directory.Exists ? directory.GetFiles("*.xml").Length : 0;

    /// <summary>Writes a temporary file, then renames it, so a reader never sees half an element.</summary>
    private void Write(string friendlyName, string xml, bool overwrite)
    {
        // Data Protection's names are "key-{guid}" and "revocation-{guid or timestamp}"; anything else must not pick a path.
        if (friendlyName.Length == 0 || !friendlyName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new ArgumentException("A key-ring element name may hold only letters, digits, '-', '_' and '.'.", nameof(friendlyName));
        }

        StorePaths.CreatePrivateDirectory(directory.FullName);
        var final = Path.Combine(directory.FullName, friendlyName + ".xml");
        var temporary = Path.Combine(directory.FullName, $"{Guid.NewGuid():N}.tmp");
        var file = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            file.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(temporary, System.Text.Encoding.UTF8, file))
        {
            writer.Write(xml);
        }

        try
        {
            if (!overwrite && File.Exists(final))
            {
                return; // as the shared stores: the first element stored under a name stays
            }

            File.Move(temporary, final, overwrite);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
