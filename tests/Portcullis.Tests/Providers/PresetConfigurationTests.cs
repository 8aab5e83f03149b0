using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Portcullis.Gateway;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Providers;

/// <summary>Presets need only ClientId, ClientSecret (and Scopes); everything else wrong about them is named at start.</summary>
public sealed class PresetConfigurationTests
{
    [Fact]
    public async Task APresetNeedsOnlyItsClientCredentials()
    {
        var settings = Settings(("github", "github"), ("discord", "discord"), ("facebook", "facebook"), ("google", "google"));

        var options = await StartAndReadOptionsAsync(settings);

        Assert.Equal(["read:user", "user:email"], options.Providers["github"].Scopes);
        Assert.Equal(["GitHub", "Discord", "Facebook", "Google"], new[] { "github", "discord", "facebook", "google" }.Select(p => options.Providers[p].DisplayName));
        Assert.Equal("client_secret_post", options.Providers["github"].ClientAuthentication);
        Assert.Equal(["identify", "email"], options.Providers["discord"].Scopes);
        Assert.Equal("client_secret_basic", options.Providers["discord"].ClientAuthentication);
        Assert.Equal(["public_profile", "email"], options.Providers["facebook"].Scopes);
        Assert.Equal("https://accounts.google.com", options.Providers["google"].Authority);
        Assert.Equal(["openid", "profile", "email"], options.Providers["google"].Scopes);
        Assert.Equal("offline", options.Providers["google"].AuthorizationParameters["access_type"]);
        Assert.Equal("consent", options.Providers["google"].AuthorizationParameters["prompt"]);
    }

    [Fact]
    public async Task ConfigurationWinsOverPresetDefaults()
    {
        var settings = Settings(("google", "google"));
        settings["Portcullis:Providers:google:AuthorizationParameters:prompt"] = "select_account consent";
        settings["Portcullis:Providers:google:Scopes:0"] = "openid";

        var options = await StartAndReadOptionsAsync(settings);

        Assert.Equal("select_account consent", options.Providers["google"].AuthorizationParameters["prompt"]);
        Assert.Equal(["openid"], options.Providers["google"].Scopes);
    }

    [Theory]
    [InlineData("github", "Authority", "https://github.com", "Portcullis:Providers:p:Authority is not used")]
    [InlineData("github", "Scopes:0", "openid", "Portcullis:Providers:p:Scopes")]
    [InlineData("github", "Endpoints:Revocation", "https://api.github.com/x", "Portcullis:Providers:p:Endpoints:Revocation is not used")]
    [InlineData("discord", "Endpoints:Api", "http://discord.example.com/api", "Portcullis:Providers:p:Endpoints:Api must use https")]
    [InlineData("discord", "Endpoints:Token", "not a url", "Portcullis:Providers:p:Endpoints:Token must be an absolute")]
    [InlineData("discord", "ExchangeForLongLivedToken", "true", "Portcullis:Providers:p:ExchangeForLongLivedToken applies only")]
    [InlineData("google", "Endpoints:Token", "https://oauth2.googleapis.com/token", "Portcullis:Providers:p:Endpoints apply only")]
    [InlineData("twitter", "ClientId", "x", "Portcullis:Providers:p:Kind 'twitter' is unknown; supported: oidc, google, github, discord, facebook")]
    public async Task WrongPresetSettingsAreNamed(string kind, string key, string value, string expected)
    {
        var settings = Settings(("p", kind));
        settings[$"Portcullis:Providers:p:{key}"] = value;

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAndReadOptionsAsync(settings));

        Assert.Contains(exception.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("UserAgentChange", "kill", "Portcullis:Session:Anomalies:UserAgentChange 'kill' is unknown")]
    [InlineData("ClientNetworkChange", "", "Portcullis:Session:Anomalies:ClientNetworkChange")]
    [InlineData("Ipv4PrefixLength", "33", "Portcullis:Session:Anomalies:Ipv4PrefixLength")]
    [InlineData("Ipv6PrefixLength", "-1", "Portcullis:Session:Anomalies:Ipv6PrefixLength")]
    public async Task WrongAnomalySettingsAreNamed(string key, string value, string expected)
    {
        var settings = Settings(("github", "github"));
        settings[$"Portcullis:Session:Anomalies:{key}"] = value;

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAndReadOptionsAsync(settings));

        Assert.Contains(exception.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    private static Dictionary<string, string?> Settings(params (string Name, string Kind)[] providers)
    {
        var data = Directory.CreateTempSubdirectory("portcullis-presets-").FullName;
        var settings = new Dictionary<string, string?>
        {
            ["Portcullis:PublicOrigin"] = "http://localhost:5999",
            ["Portcullis:Store:ConnectionString"] = $"Data Source={Path.Combine(data, "p.db")}",
        };
        foreach (var (name, kind) in providers)
        {
            settings[$"Portcullis:Providers:{name}:Kind"] = kind;
            settings[$"Portcullis:Providers:{name}:ClientId"] = "id";
            settings[$"Portcullis:Providers:{name}:ClientSecret"] = "secret";
        }

        return settings;
    }

    private static async Task<Portcullis.Configuration.PortcullisOptions> StartAndReadOptionsAsync(Dictionary<string, string?> settings)
    {
        var app = GatewayApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            Microsoft.AspNetCore.Hosting.HostingAbstractionsWebHostBuilderExtensions.UseUrls(builder.WebHost, $"http://127.0.0.1:{FreePort.Next()}");
        });
        try
        {
            await app.StartAsync();
            var options = app.Services.GetRequiredService<IOptions<Portcullis.Configuration.PortcullisOptions>>().Value;
            await app.StopAsync();
            return options;
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}
