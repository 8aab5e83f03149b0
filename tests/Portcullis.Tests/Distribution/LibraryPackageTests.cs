using System.Net;
using System.Text.RegularExpressions;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Distribution;

/// <summary>
/// The library as a user gets it (issue 21 item 2): a fresh ASP.NET Core app outside the repository, its Program.cs
/// exactly the package README's quick start, referencing the packed <c>Portcullis</c> package by version, built and
/// run as its own process, and signed in through against the test provider.
/// </summary>
public sealed partial class LibraryPackageTests
{
    [Fact]
    public async Task AFreshAppOnThePackedPackageSignsInWithTheReadmeQuickStart()
    {
        PackedPackages.Package("Portcullis");
        var app = Directory.CreateTempSubdirectory("portcullis-package-app-").FullName;
        try
        {
            var environment = PackedPackages.WriteNuGetConfig(app);
            File.WriteAllText(Path.Combine(app, "App.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk.Web">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Portcullis" Version="{PackedPackages.Version}" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), QuickStart());

            // One restore and build: the slow part of this test, sized for a loaded machine.
            var (exitCode, output) = await CommandLine.RunAsync(
                "dotnet", ["build", "-c", "Release", "--nologo", "-v", "q"], app, environment, TimeSpan.FromMinutes(5));
            Assert.True(exitCode == 0, output);
            // The library came from the packed folder, not from the source tree.
            Assert.True(File.Exists(Path.Combine(app, ".packages", "portcullis", PackedPackages.Version, "lib", "net10.0", "Portcullis.dll")), output);
            Assert.DoesNotContain("src/Portcullis", File.ReadAllText(Path.Combine(app, "obj", "project.assets.json")), StringComparison.Ordinal);

            var port = FreePort.Next();
            await using var idp = await TestIdp.StartAsync([$"http://localhost:{port}"]);
            var settings = GatewayHost.DefaultSettings(port, idp, app);
            await using var host = await GatewayProcess.StartAsync(
                "dotnet", [Path.Combine(app, "bin", "Release", "net10.0", "App.dll")], settings, port, app);
            using var browser = new BrowserClient();

            Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{host.Origin}/bff/user", BrowserClient.Csrf)).Status);
            var signedIn = await browser.LoginAsync(host.Origin, "alice");
            Assert.Equal(HttpStatusCode.OK, signedIn.Status);
            Assert.Contains("Signed in", signedIn.Body, StringComparison.Ordinal);
            var user = await browser.GetAsync($"{host.Origin}/bff/user", BrowserClient.Csrf);
            Assert.Equal(HttpStatusCode.OK, user.Status);
            Assert.Contains("alice", user.Body, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(app, recursive: true);
        }
    }

    /// <summary>The first C# block of the package README, so the quick start a user copies is the one that is tested.</summary>
    private static string QuickStart()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "src", "Portcullis", "README.md"));
        return CSharpBlock().Match(readme) is { Success: true } block
            ? block.Groups[1].Value
            : throw new InvalidOperationException("src/Portcullis/README.md has no ```csharp block.");
    }

    [GeneratedRegex("```csharp\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
