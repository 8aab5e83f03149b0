using System.Net;
using System.Security.Cryptography;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.ScaleOut;
using Portcullis.Vault.KeyRing;

namespace Portcullis.Tests.Vault;

/// <summary>
/// SECURITY.md item 38 (issue 17 item 2): whoever can write the shared store, but has no master key, cannot plant a key
/// (and then read what is written under it) or a revocation (and log everyone out). Each test writes its element straight
/// into PostgreSQL or Redis, makes the gateway reload its ring, and checks that nothing changed.
/// Same collection as <c>StoreDumpTests</c>: the plaintext keys planted here must be gone from Redis's files before it looks.
/// </summary>
[Collection(SharedServicesCollection.Name)]
public sealed class SharedKeyRingSealTests
{
    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task APlaintextKeyInsertedIntoTheStoreIsIgnoredAndLoggedAndNothingIsWrittenUnderIt(string kind)
    {
        await using var world = await SignedInAsync(kind);
        var (planted, element) = KeyRingElements.PlaintextKey(TimeProvider.System.GetUtcNow().AddMinutes(1)); // the newest activation
        await KeyRingElements.InsertAsync(world.Stack.Settings, $"key-{planted:D}", element.ToString(SaveOptions.DisableFormatting));

        world.Reload();
        using var bob = new BrowserClient();
        await bob.LoginAsync(world.Stack.Origin, "bob"); // written after the insert

        Assert.DoesNotContain(planted, world.Get<IKeyManager>().GetAllKeys().Select(k => k.KeyId));
        var vault = world.Get<Reencryptor>();
        Assert.Equal(world.GenuineKey, vault.CurrentKeyId());
        Assert.Equal(0, await vault.CountUsingKeyAsync(planted, CancellationToken.None));
        Assert.True(await vault.CountUsingKeyAsync(world.GenuineKey, CancellationToken.None) >= 4, "alice's and bob's sessions and grants are under the genuine key");
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync($"{world.Stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.OK, (await world.Alice.GetAsync($"{world.Stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        world.AssertRejectionLogged($"key-{planted:D}", "not sealed");
        Assert.DoesNotContain((string)element.Descendants("value").First(), world.Stack.Gateway.Logs.All); // no key material in the log
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task ARevocationOfEveryKeyInsertedIntoTheStoreLogsNobodyOut(string kind)
    {
        await using var world = await SignedInAsync(kind);
        var revocation = KeyRingElements.RevocationOfAllKeys(TimeProvider.System.GetUtcNow().AddMinutes(1));
        await KeyRingElements.InsertAsync(world.Stack.Settings, "revocation-planted", revocation.ToString(SaveOptions.DisableFormatting));

        world.Reload();

        Assert.False(world.Get<IKeyManager>().GetAllKeys().Single(k => k.KeyId == world.GenuineKey).IsRevoked);
        Assert.Equal(HttpStatusCode.OK, (await world.Alice.GetAsync($"{world.Stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(world.GenuineKey, world.Get<Reencryptor>().CurrentKeyId());
        world.AssertRejectionLogged("revocation-planted", "not sealed");
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task AKeySealedWithAnotherMasterKeyIsIgnored(string kind)
    {
        await using var world = await SignedInAsync(kind);
        var (planted, element) = KeyRingElements.PlaintextKey(TimeProvider.System.GetUtcNow().AddMinutes(1));
        var name = $"key-{planted:D}";
        var wrongMasterKey = new MasterKey(RandomNumberGenerator.GetBytes(32), []);
        await KeyRingElements.InsertAsync(world.Stack.Settings, name, SealedKeyRingRepository.Seal(wrongMasterKey, element, name).ToString(SaveOptions.DisableFormatting));

        world.Reload();
        using var bob = new BrowserClient();
        await bob.LoginAsync(world.Stack.Origin, "bob");

        Assert.DoesNotContain(planted, world.Get<IKeyManager>().GetAllKeys().Select(k => k.KeyId));
        Assert.Equal(world.GenuineKey, world.Get<Reencryptor>().CurrentKeyId());
        Assert.Equal(0, await world.Get<Reencryptor>().CountUsingKeyAsync(planted, CancellationToken.None));
        world.AssertRejectionLogged(name, "seal does not open");
    }

    [Fact]
    public async Task AGenuineSealedElementCopiedUnderAnotherNameIsIgnored()
    {
        await using var world = await SignedInAsync("postgres");
        var genuine = Assert.Single(await KeyRingElements.StoredAsync(world.Stack.Settings));
        await KeyRingElements.InsertAsync(world.Stack.Settings, "key-copied", genuine);

        world.Reload();

        Assert.Single(world.Get<IKeyManager>().GetAllKeys());
        world.AssertRejectionLogged("key-copied", "seal does not open");
    }

    [Fact]
    public async Task ASharedRingFromThePreviousVersionIsSealedOnUpgradeWithoutLoggingAnyoneOutButNotAPlantedPlaintextKey()
    {
        // The previous version: keys encrypted with the master key, stored as they are, nothing sealed.
        var storeSettings = await GatewayCluster.StoreSettingsAsync("postgres");
        await using var stack = await TestStack.StartAsync(
            adjust: settings => Copy(storeSettings, settings),
            configure: builder => builder.Services.PostConfigure<KeyManagementOptions>(o => o.XmlRepository = ((SealedKeyRingRepository)o.XmlRepository!).Inner));
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        var before = Assert.Single(await KeyRingElements.StoredAsync(stack.Settings));
        Assert.Contains("decryptorType=\"Portcullis.Vault.KeyRing.MasterKeyXmlDecryptor", before);
        var genuineKey = stack.Gateway.Get<Reencryptor>().CurrentKeyId();
        var (planted, element) = KeyRingElements.PlaintextKey(TimeProvider.System.GetUtcNow().AddMinutes(1));
        await KeyRingElements.InsertAsync(stack.Settings, $"key-{planted:D}", element.ToString(SaveOptions.DisableFormatting));

        await stack.RestartGatewayAsync(); // this version

        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(genuineKey, stack.Gateway.Get<Reencryptor>().CurrentKeyId());
        Assert.Equal([genuineKey], stack.Gateway.Get<IKeyManager>().GetAllKeys().Select(k => k.KeyId));
        var after = await KeyRingElements.StoredAsync(stack.Settings);
        Assert.Equal(1, after.Count(xml => xml.StartsWith("<sealed v=\"1\">", StringComparison.Ordinal)));
        Assert.Contains("Sealed 1 key-ring element(s)", stack.Gateway.Logs.All);
    }

    private static async Task<SignedInWorld> SignedInAsync(string kind)
    {
        var storeSettings = await GatewayCluster.StoreSettingsAsync(kind);
        var stack = await TestStack.StartAsync(adjust: settings => Copy(storeSettings, settings));
        var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        var genuineKey = Assert.Single(stack.Gateway.Get<IKeyManager>().GetAllKeys()).KeyId;
        Assert.All(await KeyRingElements.StoredAsync(stack.Settings), xml => Assert.StartsWith("<sealed v=\"1\">", xml));
        return new SignedInWorld(stack, alice, genuineKey);
    }

    private static void Copy(Dictionary<string, string?> from, Dictionary<string, string?> to)
    {
        foreach (var (key, value) in from)
        {
            to[key] = value;
        }
    }

    private sealed record SignedInWorld(TestStack Stack, BrowserClient Alice, Guid GenuineKey) : IAsyncDisposable
    {
        public T Get<T>()
            where T : notnull => Stack.Gateway.Get<T>();

        /// <summary>What the key-ring watcher does when the ring's size changes, without waiting for it.</summary>
        public void Reload() => Get<KeyRingChangeSignal>().Trigger();

        public void AssertRejectionLogged(string name, string reason) =>
            Assert.Contains(Stack.Gateway.Logs.Lines, line =>
                line.StartsWith("Warning Portcullis.Vault[4005]", StringComparison.Ordinal) && line.Contains($"'{name}'", StringComparison.Ordinal) && line.Contains(reason, StringComparison.Ordinal));

        public async ValueTask DisposeAsync()
        {
            Alice.Dispose();
            await Stack.DisposeAsync();
            if (Stack.Settings["Portcullis:Store:Kind"] == "redis")
            {
                await KeyRingElements.ForgetRedisAsync(Stack.Settings);
            }
        }
    }
}
