using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Distribution;

/// <summary>
/// README's library quick start is the package README's, which <see cref="LibraryPackageTests"/> builds from the packed
/// package and signs in through; the tool's lines are run by <see cref="GatewayToolTests"/> and the client's snippet by
/// the browser tests' <c>ReadmeClientQuickStartTests</c>, each read from README.md (issue 21 item 7).
/// </summary>
public sealed class ReadmeQuickStartTests
{
    [Fact]
    public void TheReadmesLibraryQuickStartIsThePackageReadmesTestedOne()
    {
        var packageReadme = Path.Combine(RepositoryPaths.Root, "src", "Portcullis", "README.md");

        Assert.Equal(
            ReadmeSnippets.CodeBlock(packageReadme, "Quick start", "csharp"),
            ReadmeSnippets.CodeBlock("The library, from its package", "csharp"));
    }
}
