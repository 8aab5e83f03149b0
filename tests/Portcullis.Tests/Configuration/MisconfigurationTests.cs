using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Portcullis.Gateway;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Configuration;

/// <summary>SECURITY.md item 34: a wrong configuration stops start-up with a message naming every wrong key.</summary>
public sealed class MisconfigurationTests
{
    internal static Dictionary<string, string?> ValidSettings(string dataDirectory) => new()
    {
        ["Portcullis:PublicOrigin"] = "http://localhost:5999",
        ["Portcullis:Providers:main:Authority"] = "http://127.0.0.1:9400",
        ["Portcullis:Providers:main:ClientId"] = "bff",
        ["Portcullis:Providers:main:ClientSecret"] = "bff-secret",
        ["Portcullis:Store:ConnectionString"] = $"Data Source={Path.Combine(dataDirectory, "p.db")}",
    };

    [Fact]
    public async Task ForwardAuthWithoutTrustedProxiesOrItsOwnPortOrWithAPatternForItsPathDoesNotStart()
    {
        var settings = ValidSettings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        settings["Portcullis:ForwardAuth:Enabled"] = "true";
        settings["Portcullis:ForwardAuth:Path"] = "/forward-auth/{**rest}";

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(settings));

        var message = string.Join('\n', exception.Failures);
        Assert.Contains("Portcullis:ForwardAuth:Enabled needs Portcullis:TrustedProxies", message);
        Assert.Contains("Portcullis:ForwardAuth:Port is required with Portcullis:ForwardAuth:Enabled", message);
        Assert.Contains("Portcullis:ForwardAuth:Path", message);
    }

    [Fact]
    public async Task EveryWrongKeyIsNamedAtOnce()
    {
        var data = Directory.CreateTempSubdirectory("portcullis-config-").FullName;
        var settings = ValidSettings(data);
        settings.Remove("Portcullis:Providers:main:ClientId");
        settings["Portcullis:Providers:main:Authority"] = "not a url";
        settings["Portcullis:Store:Kind"] = "oracle";
        settings["Portcullis:Providers:main:Kind"] = "saml";
        settings["Portcullis:Apis:orders:Path"] = "/api/../admin";
        settings["Portcullis:Apis:orders:Upstream"] = "ftp://x";

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(settings));

        var message = string.Join('\n', exception.Failures);
        Assert.Contains("Portcullis:Providers:main:ClientId", message);
        Assert.Contains("Portcullis:Providers:main:Authority", message);
        Assert.Contains("Portcullis:Store:Kind", message);
        Assert.Contains("Portcullis:Providers:main:Kind", message);
        Assert.Contains("Portcullis:Apis:orders:Path", message);
        Assert.Contains("Portcullis:Apis:orders:Upstream", message);
    }

    [Theory]
    [InlineData("Portcullis:Providers:main:Authority", "http://idp.example.com", "https")]
    [InlineData("Portcullis:PublicOrigin", "http://app.example.com", "https")]
    [InlineData("Portcullis:Providers:main:ClientSecret", "", "ClientSecret is required")]
    [InlineData("Portcullis:Session:CookieName", "portcullis", "__Host-")]
    [InlineData("Portcullis:Session:CookieName", "__Host-portcullis; a", "must be an HTTP token")]
    [InlineData("Portcullis:Session:CookieName", "__Host-port=cullis", "must be an HTTP token")]
    [InlineData("Portcullis:Session:CookieName", "__Host-portcullis\u00e9", "must be an HTTP token")]
    [InlineData("Portcullis:Session:CacheDuration", "00:05:00", "another node")]
    [InlineData("Portcullis:Session:CacheDuration", "-00:00:01", "another node")]
    [InlineData("Portcullis:Session:CacheSize", "0", "CacheSize must be at least 1")]
    [InlineData("Portcullis:Refresh:TokenRequestDeadline", "00:00:01", "must not be shorter than Portcullis:Refresh:Timeout")]
    [InlineData("Portcullis:Refresh:LeaseDuration", "00:00:00", "must be a positive duration")]
    // SECURITY.md item 34, "weak key": a master key (or an earlier one kept to decrypt) that is not 32 bytes.
    [InlineData("Portcullis:KeyProtection:MasterKey", "AAAAAAAAAAAAAAAAAAAAAA==", "must be base64 of exactly 32 bytes")]
    [InlineData("Portcullis:KeyProtection:MasterKey", "correct horse battery staple", "must be base64 of exactly 32 bytes")]
    [InlineData("Portcullis:KeyProtection:PreviousMasterKeys:0", "AAAAAAAAAAAAAAAAAAAAAA==", "must be base64 of exactly 32 bytes")]
    public async Task UnsafeValuesAreRefused(string key, string value, string expected)
    {
        var settings = ValidSettings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        settings[key] = value;

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(settings));

        Assert.Contains(exception.Failures, f => f.Contains(key, StringComparison.Ordinal) && f.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUnknownKeyIsRefusedByName()
    {
        var settings = ValidSettings(Directory.CreateTempSubdirectory("portcullis-config-").FullName);
        settings["Portcullis:Providers:main:ClientScret"] = "typo";

        var exception = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => StartAsync(settings));

        Assert.Contains("ClientScret", exception.ToString());
    }

    [Fact]
    public async Task TheGatewayProcessExitsNonZeroAndPrintsTheKeysWhenGivenABadConfigFile()
    {
        var directory = Directory.CreateTempSubdirectory("portcullis-config-").FullName;
        var configFile = Path.Combine(directory, "gateway.json");
        await File.WriteAllTextAsync(configFile, """
            { "Portcullis": { "PublicOrigin": "http://localhost:5999", "Store": { "Kind": "mongo" },
              "Providers": { "main": { "Authority": "http://127.0.0.1:9400", "ClientSecret": "s" } } } }
            """);
        var gateway = Path.Combine(AppContext.BaseDirectory, "Portcullis.Gateway.dll");
        var start = new ProcessStartInfo("dotnet", [gateway, "--config", configFile])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = directory,
        };

        using var process = Process.Start(start)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("Portcullis:Store:Kind", stderr);
        Assert.Contains("Portcullis:Providers:main:ClientId", stderr);
    }

    internal static async Task StartAsync(Dictionary<string, string?> settings)
    {
        var app = GatewayApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            Microsoft.AspNetCore.Hosting.HostingAbstractionsWebHostBuilderExtensions.UseUrls(builder.WebHost, $"http://127.0.0.1:{FreePort.Next()}");
        });
        try
        {
            await app.StartAsync();
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}
