namespace Portcullis.Tests.Infrastructure;

/// <summary>
/// Code blocks read from the repository's README, so what a reader copies is what the tests run (issue 21 item 7).
/// </summary>
public static class ReadmeSnippets
{
    /// <summary>The first <paramref name="language"/> code block under the heading <paramref name="heading"/> of README.md.</summary>
    public static string CodeBlock(string heading, string language) => CodeBlock(Path.Combine(RepositoryPaths.Root, "README.md"), heading, language);

    public static string CodeBlock(string file, string heading, string language)
    {
        var lines = File.ReadAllLines(file);
        var start = Array.FindIndex(lines, line => line.TrimStart('#').Trim() == heading && line.StartsWith('#'));
        if (start < 0)
        {
            throw new InvalidOperationException($"{file} has no heading '{heading}'.");
        }

        var open = Array.FindIndex(lines, start, line => line == "```" + language);
        var nextHeading = Array.FindIndex(lines, start + 1, line => line.StartsWith('#'));
        if (open < 0 || (nextHeading >= 0 && open > nextHeading))
        {
            throw new InvalidOperationException($"{file}: no ```{language} block under '{heading}'.");
        }

        var close = Array.FindIndex(lines, open + 1, line => line == "```");
        return string.Join('\n', lines[(open + 1)..close]) + "\n";
    }
}
