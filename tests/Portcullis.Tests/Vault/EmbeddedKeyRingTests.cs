using System.Net;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Vault;

/// <summary>
/// Issue 17 item 10: the embedded (SQLite) key ring is encrypted at rest, with <c>KeyProtection:MasterKey</c> or, without
/// it, a master key file created with mode 0600 on first start; a ring from the previous version keeps everyone signed in.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes: the gateway runs on Linux
public sealed class EmbeddedKeyRingTests
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public async Task TheEmbeddedKeyRingIsSealedWithAMasterKeyFileOnlyItsOwnerCanReadAndARestartReadsItBack()
    {
        await using var stack = await TestStack.StartAsync();
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        var masterKeyFile = Path.Combine(stack.Gateway.DataDirectory, "master.key");
        var masterKey = await File.ReadAllTextAsync(masterKeyFile);

        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(masterKeyFile));
        Assert.Contains(stack.Gateway.Logs.Lines, line => line.Contains("[4007]", StringComparison.Ordinal) && line.Contains(masterKeyFile, StringComparison.Ordinal));
        Assert.DoesNotContain(masterKey.Trim(), stack.Gateway.Logs.All);
        var ring = RingFiles(stack);
        var file = Assert.Single(ring);
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(file));
        AssertSealed(await File.ReadAllTextAsync(file));
        var key = Assert.Single(stack.Gateway.Get<IKeyManager>().GetAllKeys()).KeyId;

        await stack.RestartGatewayAsync();

        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(key, Assert.Single(stack.Gateway.Get<IKeyManager>().GetAllKeys()).KeyId);
        Assert.Equal(ring, RingFiles(stack));
        Assert.Equal(masterKey, await File.ReadAllTextAsync(masterKeyFile));
        Assert.DoesNotContain(stack.Gateway.Logs.Lines, line => line.Contains("[4007]", StringComparison.Ordinal)); // not created again
    }

    [Fact]
    public async Task WithoutItsMasterKeyFileTheEmbeddedRingOpensNothing()
    {
        await using var stack = await TestStack.StartAsync();
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        var key = Assert.Single(stack.Gateway.Get<IKeyManager>().GetAllKeys()).KeyId;
        File.Move(Path.Combine(stack.Gateway.DataDirectory, "master.key"), Path.Combine(stack.Gateway.DataDirectory, "master.key.elsewhere"));

        await stack.RestartGatewayAsync(); // a copy of the data folder without the key file

        Assert.DoesNotContain(key, stack.Gateway.Get<IKeyManager>().GetAllKeys().Select(k => k.KeyId));
        Assert.Equal(HttpStatusCode.Unauthorized, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Fact]
    public async Task AnUnencryptedRingFromThePreviousVersionIsSealedOnUpgradeWithoutLoggingAnyoneOut()
    {
        // The previous version: Data Protection's own file repository beside the database, no encryptor, nothing sealed.
        await using var stack = await TestStack.StartAsync(configure: builder => builder.Services.PostConfigure<KeyManagementOptions>(o =>
        {
            var directory = new DirectoryInfo(Path.Combine(Path.GetDirectoryName(builder.Configuration["Portcullis:Store:ConnectionString"]!["Data Source=".Length..])!, "keys"));
            o.XmlRepository = new FileSystemXmlRepository(directory, NullLoggerFactory.Instance);
            o.XmlEncryptor = null;
        }));
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        var key = Assert.Single(stack.Gateway.Get<IKeyManager>().GetAllKeys()).KeyId;
        Assert.Contains("<masterKey", await File.ReadAllTextAsync(Assert.Single(RingFiles(stack)))); // in clear, as before

        await stack.RestartGatewayAsync(); // this version

        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(key, Assert.Single(stack.Gateway.Get<IKeyManager>().GetAllKeys()).KeyId);
        AssertSealed(await File.ReadAllTextAsync(Assert.Single(RingFiles(stack))));
        Assert.Contains("Sealed 1 key-ring element(s)", stack.Gateway.Logs.All);
        using var bob = new BrowserClient();
        await bob.LoginAsync(stack.Origin, "bob");
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Theory]
    [InlineData("0644", "can be read or written by other users")]
    [InlineData("0600", "does not hold base64 of exactly 32 bytes")]
    public async Task ABadMasterKeyFileStopsStartUpNamingTheKey(string mode, string problem)
    {
        var port = FreePort.Next();
        var dataDirectory = Directory.CreateTempSubdirectory("portcullis-test-").FullName;
        var masterKeyFile = Path.Combine(dataDirectory, "master.key");
        await File.WriteAllTextAsync(masterKeyFile, mode == "0644" ? Convert.ToBase64String(new byte[32]) : "not a key");
        File.SetUnixFileMode(masterKeyFile, mode == "0644" ? OwnerReadWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead : OwnerReadWrite);
        await using var idp = await TestIdp.StartAsync([$"http://localhost:{port}"]);
        try
        {
            var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                await using var gateway = await GatewayHost.StartAsync(GatewayHost.DefaultSettings(port, idp, dataDirectory), port, dataDirectory);
            });

            Assert.Contains("Portcullis:KeyProtection:MasterKey", failure.Message);
            Assert.Contains(masterKeyFile, failure.Message);
            Assert.Contains(problem, failure.Message);
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    private static string[] RingFiles(TestStack stack) =>
        [.. Directory.GetFiles(Path.Combine(stack.Gateway.DataDirectory, "keys"), "*.xml").Order(StringComparer.Ordinal)];

    private static void AssertSealed(string xml)
    {
        Assert.StartsWith("<sealed v=\"1\">", xml);
        Assert.DoesNotContain("<masterKey", xml);
        Assert.DoesNotContain("<key", xml);
    }
}
