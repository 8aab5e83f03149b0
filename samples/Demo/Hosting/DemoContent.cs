using System.Reflection;

namespace Portcullis.Demo.Hosting;

internal static class DemoContent
{
    private const string ProjectDirectoryKey = "PortcullisDemoProjectDirectory";

    // The single-page app is served from the source folder when it exists, whatever the working
    // directory (dotnet run --project, a test runner's bin folder): editing app.js then needs only a
    // reload. A published demo has no source folder and uses the wwwroot copied beside the binaries.
    public static string StaticRoot()
    {
        var projectDirectory = typeof(DemoContent).Assembly
            .GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(attribute => attribute.Key == ProjectDirectoryKey)?.Value;

        var source = projectDirectory is null ? null : Path.Combine(projectDirectory, "wwwroot");
        return source is not null && Directory.Exists(source)
            ? source
            : Path.Combine(AppContext.BaseDirectory, "wwwroot");
    }
}
