using Portcullis.Tests.Infrastructure;

namespace Portcullis.Browser.Tests.Infrastructure;

/// <summary>
/// The JavaScript client as <c>./test.sh</c> builds it (<c>npm ci</c>, then <c>tsc</c> into clients/js/dist), served by
/// the gateway from a folder of static files like any single-page app's.
/// </summary>
public static class BuiltClient
{
    public static string Path { get; } = System.IO.Path.Combine(RepositoryPaths.Root, "clients", "js", "dist", "portcullis.js");

    /// <summary>A fresh static root holding the built client as <c>/portcullis.js</c> and <paramref name="files"/> beside it.</summary>
    public static string StaticRoot(IReadOnlyDictionary<string, string> files)
    {
        if (!File.Exists(Path))
        {
            throw new InvalidOperationException(
                $"{Path} is missing: ./test.sh builds it (or run `npm ci && npm run build` in clients/js).");
        }

        var root = Directory.CreateTempSubdirectory("portcullis-client-root-").FullName;
        File.Copy(Path, System.IO.Path.Combine(root, "portcullis.js"));
        foreach (var (name, content) in files)
        {
            File.WriteAllText(System.IO.Path.Combine(root, name), content);
        }

        return root;
    }
}
