using Portcullis.Configuration;
using Portcullis.Tests.Infrastructure;
using PublicApiGenerator;

namespace Portcullis.Tests.Architecture;

/// <summary>
/// The public surface is deliberate: types users configure or call (options, builder and mapping extensions, the
/// authorization requirements, <c>IUserTokens</c>, the audit log, what a store backend implements). Everything else is
/// internal. The surface is compared with a committed list, so a change to it shows in review as a change to that file.
/// </summary>
public sealed class PublicApiTests
{
    [Fact]
    public void ThePublicApiOfTheLibraryIsTheApprovedOne() => AssertApproved(typeof(PortcullisOptions).Assembly);

    [Fact]
    public void ThePublicApiOfThePostgreSqlBackendIsTheApprovedOne() =>
        AssertApproved(typeof(Portcullis.PostgreSqlPortcullisBuilderExtensions).Assembly);

    [Fact]
    public void ThePublicApiOfTheRedisBackendIsTheApprovedOne() =>
        AssertApproved(typeof(Portcullis.RedisPortcullisBuilderExtensions).Assembly);

    /// <summary>
    /// Fails when the assembly's public API differs from <c>PublicApi/{assembly}.approved.txt</c>, leaving the actual API
    /// beside it as <c>.received.txt</c>: review the difference, and if it is intended, copy received over approved.
    /// </summary>
    internal static void AssertApproved(System.Reflection.Assembly assembly)
    {
        var actual = Normalize(assembly.GeneratePublicApi(new ApiGeneratorOptions { IncludeAssemblyAttributes = false }));
        var folder = Path.Combine(RepositoryPaths.Root, "tests", "Portcullis.Tests", "Architecture", "PublicApi");
        var name = assembly.GetName().Name;
        var approvedPath = Path.Combine(folder, $"{name}.approved.txt");
        var receivedPath = Path.Combine(folder, $"{name}.received.txt");
        var approved = File.Exists(approvedPath) ? Normalize(File.ReadAllText(approvedPath)) : "";
        if (actual == approved)
        {
            File.Delete(receivedPath);
            return;
        }

        Directory.CreateDirectory(folder);
        File.WriteAllText(receivedPath, actual);
        Assert.Fail($"The public API of {name} changed. Compare {receivedPath} with {approvedPath}; if the change is intended, copy it over the approved file.");
    }

    private static string Normalize(string api) => api.Replace("\r\n", "\n", StringComparison.Ordinal).Trim() + "\n";
}
