using Microsoft.Extensions.Options;

namespace Portcullis.Tests.Configuration;

/// <summary>Issue 15: <c>Portcullis:Session:Mode</c> is checked at start-up, and a wrong value names the key.</summary>
public sealed class SessionModeConfigurationTests
{
    [Theory]
    [InlineData("Server")]
    [InlineData("splitkey")]
    [InlineData("cookie")]
    public async Task AnUnknownModeStopsStartUpNamingTheKey(string mode)
    {
        var settings = MisconfigurationTests.ValidSettings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        settings["Portcullis:Session:Mode"] = mode;

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => MisconfigurationTests.StartAsync(settings));

        Assert.Contains(exception.Failures, f => f.Contains("Portcullis:Session:Mode", StringComparison.Ordinal) && f.Contains($"'{mode}' is unknown", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheServerModeIsTheDefaultAndStarts()
    {
        var settings = MisconfigurationTests.ValidSettings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        await MisconfigurationTests.StartAsync(settings);

        settings["Portcullis:Session:Mode"] = "server";
        await MisconfigurationTests.StartAsync(settings);
    }

    [Fact]
    public async Task StatelessRefusesTheSessionCacheNamingBothKeys()
    {
        var settings = MisconfigurationTests.ValidSettings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        settings["Portcullis:Session:Mode"] = "stateless";
        settings["Portcullis:Session:CacheDuration"] = "00:00:30";

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => MisconfigurationTests.StartAsync(settings));

        Assert.Contains(exception.Failures, f => f.Contains("Portcullis:Session:CacheDuration", StringComparison.Ordinal) && f.Contains("'stateless' has no store", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StatelessNotYetBuiltIsRefusedByName()
    {
        var settings = MisconfigurationTests.ValidSettings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        settings["Portcullis:Session:Mode"] = "stateless";

        var stateless = await Assert.ThrowsAsync<OptionsValidationException>(() => MisconfigurationTests.StartAsync(settings));

        Assert.Contains(stateless.Failures, f => f.Contains("Portcullis:Session:Mode", StringComparison.Ordinal) && f.Contains("not available in this build yet", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SplitKeyWithOfflineAccessNeedsTheOfflineCopyNamedAndTheCopyAloneIsRefused()
    {
        var settings = MisconfigurationTests.ValidSettings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        settings["Portcullis:Session:Mode"] = "split-key";
        settings["Portcullis:Tokens:OfflineAccess"] = "true";

        // Offline access would quietly need tokens the server can open: the operator has to say so.
        var withoutCopy = await Assert.ThrowsAsync<OptionsValidationException>(() => MisconfigurationTests.StartAsync(settings));
        Assert.Contains(withoutCopy.Failures, f => f.Contains("Portcullis:Tokens:OfflineAccess", StringComparison.Ordinal) && f.Contains("Portcullis:Session:SplitKeyOfflineCopy", StringComparison.Ordinal));

        settings["Portcullis:Session:SplitKeyOfflineCopy"] = "true";
        await MisconfigurationTests.StartAsync(settings);

        // The copy without offline access (or outside split-key) would do nothing.
        settings.Remove("Portcullis:Tokens:OfflineAccess");
        var copyAlone = await Assert.ThrowsAsync<OptionsValidationException>(() => MisconfigurationTests.StartAsync(settings));
        Assert.Contains(copyAlone.Failures, f => f.Contains("Portcullis:Session:SplitKeyOfflineCopy", StringComparison.Ordinal) && f.Contains("Remove the key", StringComparison.Ordinal));
    }
}
