using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Storage;

/// <summary>Where the embedded store and its key ring live: relative paths resolve against the content root.</summary>
internal static class StorePaths
{
    public static string ResolveConnectionString(IServiceProvider provider)
    {
        var builder = new SqliteConnectionStringBuilder(Options(provider).Store.ConnectionString);
        if (!string.IsNullOrEmpty(builder.DataSource) && builder.DataSource != ":memory:" && !Path.IsPathRooted(builder.DataSource))
        {
            builder.DataSource = Path.Combine(ContentRoot(provider), builder.DataSource);
        }

        return builder.ToString();
    }

    public static string KeyRingDirectory(IServiceProvider provider)
    {
        var options = Options(provider);
        if (!string.IsNullOrEmpty(options.DataDirectory))
        {
            return Path.Combine(Path.GetFullPath(options.DataDirectory, ContentRoot(provider)), "keys");
        }

        var dataSource = new SqliteConnectionStringBuilder(ResolveConnectionString(provider)).DataSource;
        return Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dataSource)) ?? ContentRoot(provider), "keys");
    }

    /// <summary>
    /// The master key file of the embedded key ring when <c>KeyProtection:MasterKey</c> is not set: <c>master.key</c>
    /// beside the database (in <c>DataDirectory</c> when that is set), outside the <c>keys</c> folder (docs/adr/0023).
    /// </summary>
    public static string MasterKeyFile(IServiceProvider provider) =>
        Path.Combine(Path.GetDirectoryName(KeyRingDirectory(provider)) ?? ContentRoot(provider), "master.key");

    private static PortcullisOptions Options(IServiceProvider provider) => provider.GetRequiredService<IOptions<PortcullisOptions>>().Value;

    private static string ContentRoot(IServiceProvider provider) => provider.GetRequiredService<IHostEnvironment>().ContentRootPath;

    /// <summary>Creates a folder only its owner can enter (0700): key material and the database live there.</summary>
    public static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
