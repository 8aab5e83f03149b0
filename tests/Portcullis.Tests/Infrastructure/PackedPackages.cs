using System.Xml.Linq;

namespace Portcullis.Tests.Infrastructure;

/// <summary>
/// The packages <c>./test.sh</c> packs into <c>artifacts/packages</c> before the tests (issue 21), and a NuGet set-up
/// for a fresh project outside the repository that must take them from there and nowhere else.
/// </summary>
public static class PackedPackages
{
    public static string Folder { get; } = Path.Combine(RepositoryPaths.Root, "artifacts", "packages");

    /// <summary>The one version all packages carry, read from where it is set (src/Directory.Build.props).</summary>
    public static string Version { get; } = XDocument.Load(Path.Combine(RepositoryPaths.Root, "src", "Directory.Build.props"))
        .Descendants("VersionPrefix").Single().Value;

    /// <summary>Fails with what to do when the packages were not packed (a plain <c>dotnet test</c> does not pack).</summary>
    public static string Package(string id)
    {
        var path = Path.Combine(Folder, $"{id}.{Version}.nupkg");
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException($"{path} is missing: ./test.sh packs it (or `dotnet pack` each src project with `-c Release --no-build -o artifacts/packages`).");
    }

    /// <summary>
    /// Writes a nuget.config into <paramref name="directory"/>: Portcullis packages only from the packed folder (source
    /// mapping, so a same-numbered package from anywhere else can never stand in), everything else from this machine's
    /// package cache used as a feed (no download for what the solution already restored) or else from nuget.org.
    /// Returns the environment that makes restore extract into a fresh folder, so no package cached by an earlier run
    /// (of the same version number but older content) is used.
    /// </summary>
    public static Dictionary<string, string?> WriteNuGetConfig(string directory)
    {
        File.WriteAllText(Path.Combine(directory, "nuget.config"), NuGetConfig());
        return FreshCache(directory);
    }

    /// <summary>
    /// For a tool install with <c>--add-source</c> (which NuGet refuses together with source mapping): a nuget.config
    /// with no source at all, so the packed folder given on the command line is the only place the tool can come from.
    /// </summary>
    public static Dictionary<string, string?> WriteEmptyNuGetConfig(string directory)
    {
        File.WriteAllText(Path.Combine(directory, "nuget.config"), """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /></packageSources></configuration>
            """);
        return FreshCache(directory);
    }

    private static string NuGetConfig()
    {
        var userCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var cacheSource = Directory.Exists(userCache) ? $"""<add key="cache" value="{userCache}" />""" : "";
        var cacheMapping = Directory.Exists(userCache) ? """<packageSource key="cache"><package pattern="*" /></packageSource>""" : "";
        return $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="packed" value="{Folder}" />
                {cacheSource}
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="packed"><package pattern="Portcullis*" /></packageSource>
                {cacheMapping}
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """;
    }

    private static Dictionary<string, string?> FreshCache(string directory) => new()
    {
        ["NUGET_PACKAGES"] = Path.Combine(directory, ".packages"),
        // No telemetry banner or first-run work in the middle of a test's output.
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
        ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
    };
}
