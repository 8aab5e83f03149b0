using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Storage;

namespace Portcullis.Vault.KeyRing;

/// <summary>
/// Where the master key comes from: <c>KeyProtection:MasterKey</c>, or for the embedded store without one, a key file
/// created on first start with mode 0600 beside the database (issue 17 item 10, docs/adr/0023).
/// </summary>
internal static class MasterKeySource
{
    private const string Section = PortcullisOptions.SectionName + ":KeyProtection";

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static MasterKey Resolve(IServiceProvider provider)
    {
        var options = provider.GetRequiredService<IOptions<PortcullisOptions>>().Value;
        var keyProtection = options.KeyProtection;
        var previous = keyProtection.PreviousMasterKeys.Select(k => MasterKey.TryDecode(k)!).ToList();
        if (MasterKey.TryDecode(keyProtection.MasterKey) is { } configured)
        {
            // An embedded ring sealed under the file before the operator configured a master key stays readable (new
            // keys are sealed under the configured one); the file is read, never created, in this case.
            if (options.Store.Kind == StoreKinds.Sqlite && StorePaths.MasterKeyFile(provider) is var path && File.Exists(path) && MasterKey.TryDecode(File.ReadAllText(path).Trim()) is { } fromFile)
            {
                previous.Add(fromFile);
            }

            return new MasterKey(configured, previous);
        }

        // Only the embedded store gets here: a shared store without a master key was refused by KeyProtectionOptionsValidator.
        var file = StorePaths.MasterKeyFile(provider);
        var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger("Portcullis.Vault");
        if (!File.Exists(file) && TryCreate(file))
        {
            Diagnostics.Log.MasterKeyFileCreated(logger, file);
        }

        return new MasterKey(Read(file), previous);
    }

    /// <summary>Creates the file with mode 0600 from the start (never widened then narrowed); false if another process won the race.</summary>
    private static bool TryCreate(string path)
    {
        StorePaths.CreatePrivateDirectory(Path.GetDirectoryName(path)!);
        var file = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            file.UnixCreateMode = OwnerOnly;
        }

        try
        {
            using var writer = new StreamWriter(path, System.Text.Encoding.ASCII, file);
            writer.WriteLine(MasterKey.Generate());
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    private static byte[] Read(string path)
    {
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & ~(OwnerOnly | UnixFileMode.UserExecute)) != 0)
        {
            throw new InvalidOperationException(
                $"{Section}:MasterKey is not set and the master key file {path} can be read or written by other users: `chmod 600` it, or set {Section}:MasterKey.");
        }

        return MasterKey.TryDecode(File.ReadAllText(path).Trim())
            ?? throw new InvalidOperationException(
                $"{Section}:MasterKey is not set and the master key file {path} does not hold base64 of exactly 32 bytes: restore it from a backup, or set {Section}:MasterKey.");
    }
}
