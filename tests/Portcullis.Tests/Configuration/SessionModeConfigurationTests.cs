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
    public async Task StatelessStartsWithoutAStoreAndRefusesEveryConfiguredFeatureThatNeedsServerStateNamingItsKey()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("portcullis-config-").FullName;
        var settings = MisconfigurationTests.ValidSettings(dataDirectory);
        settings["Portcullis:Session:Mode"] = "stateless";
        settings["Portcullis:Session:MaxCookieAge"] = "00:10:00";
        await MisconfigurationTests.StartAsync(settings);
        // No database: the key ring's files are all it wrote (ADR 0033).
        Assert.False(File.Exists(Path.Combine(dataDirectory, "p.db")));

        settings["Portcullis:Store:Kind"] = "redis";
        settings["Portcullis:Tokens:OfflineAccess"] = "true";
        settings["Portcullis:Admin:Policy"] = "operators";
        settings["Portcullis:ForwardAuth:Enabled"] = "true";
        settings["Portcullis:Session:CookieDomain"] = "example.com";
        settings["Portcullis:Session:MaxCookieAge"] = "00:01:00";
        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => MisconfigurationTests.StartAsync(settings));

        foreach (var key in new[] { "Portcullis:Store:Kind 'redis'", "Portcullis:Tokens:OfflineAccess", "Portcullis:Admin:Policy", "Portcullis:ForwardAuth:Enabled", "Portcullis:Session:CookieDomain" })
        {
            Assert.Contains(refused.Failures, f => f.StartsWith(key, StringComparison.Ordinal) && f.Contains("Portcullis:Session:Mode 'stateless' keeps no session on the server", StringComparison.Ordinal));
        }

        Assert.Contains(refused.Failures, f => f.Contains("Portcullis:Session:MaxCookieAge must be at least 2 minutes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheMaximumCookieAgeOutsideStatelessIsRefusedByName()
    {
        var settings = MisconfigurationTests.ValidSettings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        settings["Portcullis:Session:MaxCookieAge"] = "00:10:00";

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => MisconfigurationTests.StartAsync(settings));

        Assert.Contains(exception.Failures, f => f.Contains("Portcullis:Session:MaxCookieAge applies only when Portcullis:Session:Mode is 'stateless'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheStatelessRefreshCoordinatorOutsideStatelessIsRefusedByName()
    {
        var settings = MisconfigurationTests.ValidSettings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        settings["Portcullis:Session:StatelessRefreshCoordinator"] = "localhost:6379";

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => MisconfigurationTests.StartAsync(settings));

        Assert.Contains(exception.Failures, f => f.Contains("Portcullis:Session:StatelessRefreshCoordinator applies only when Portcullis:Session:Mode is 'stateless'", StringComparison.Ordinal));
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
