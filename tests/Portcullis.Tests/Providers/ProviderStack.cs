using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Portcullis.Simulators;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Providers;

/// <summary>
/// A gateway with several providers at once, each a real local server: simulated GitHub, Discord and Facebook on
/// Kestrel (named <c>github</c>, <c>discord</c>, <c>facebook</c>) and optionally the real oidc-provider as <c>main</c>.
/// </summary>
public sealed class ProviderStack : IAsyncDisposable
{
    public const string ClientId = "portcullis-app";
    public const string ClientSecret = "simulated-client-secret-4f1c2a";

    private ProviderStack(GatewayHost gateway, Dictionary<string, string?> settings, TestIdp? idp, GitHubSimulator? gitHub, DiscordSimulator? discord, FacebookSimulator? facebook)
    {
        Gateway = gateway;
        Settings = settings;
        Idp = idp;
        GitHub = gitHub;
        Discord = discord;
        Facebook = facebook;
    }

    public GatewayHost Gateway { get; }

    public Dictionary<string, string?> Settings { get; }

    public TestIdp? Idp { get; }

    public GitHubSimulator? GitHub { get; }

    public DiscordSimulator? Discord { get; }

    public FacebookSimulator? Facebook { get; }

    public string Origin => Gateway.Origin;

    public string DataDirectory => Gateway.DataDirectory;

    public static async Task<ProviderStack> StartAsync(
        bool gitHub = false,
        bool discord = false,
        bool facebook = false,
        bool oidc = false,
        Action<ProviderStack.Simulators>? prepare = null,
        Action<Dictionary<string, string?>>? adjust = null,
        Action<WebApplicationBuilder>? configure = null,
        TimeProvider? clock = null)
    {
        var port = FreePort.Next();
        var origin = $"http://localhost:{port}";
        var dataDirectory = Directory.CreateTempSubdirectory("portcullis-providers-").FullName;
        var simulators = new Simulators(
            gitHub ? new GitHubSimulator(Client(origin, "github")) : null,
            discord ? new DiscordSimulator(Client(origin, "discord")) : null,
            facebook ? new FacebookSimulator(Client(origin, "facebook")) : null);
        prepare?.Invoke(simulators);
        foreach (var simulator in new ProviderSimulator?[] { simulators.GitHub, simulators.Discord, simulators.Facebook }.OfType<ProviderSimulator>())
        {
            // The simulators share the gateway's clock: a test moving it expires their tokens too.
            simulator.Time = clock ?? TimeProvider.System;
            await simulator.StartAsync();
        }

        var idp = oidc ? await TestIdp.StartAsync([origin]) : null;
        var settings = new Dictionary<string, string?>
        {
            ["Portcullis:PublicOrigin"] = origin,
            ["Portcullis:Store:Kind"] = "sqlite",
            ["Portcullis:Store:ConnectionString"] = $"Data Source={Path.Combine(dataDirectory, "portcullis.db")}",
        };
        if (idp is not null)
        {
            foreach (var (key, value) in GatewayHost.DefaultSettings(port, idp, dataDirectory).Where(s => s.Key.StartsWith("Portcullis:Providers:", StringComparison.Ordinal)))
            {
                settings[key] = value;
            }

            settings["Portcullis:Providers:main:DisplayName"] = "Example ID";
        }

        if (simulators.GitHub is { } gh)
        {
            AddProvider(settings, "github", "GitHub");
            settings["Portcullis:Providers:github:Endpoints:Authorization"] = gh.AuthorizationEndpoint;
            settings["Portcullis:Providers:github:Endpoints:Token"] = gh.TokenEndpoint;
            settings["Portcullis:Providers:github:Endpoints:Api"] = gh.ApiUrl;
        }

        if (simulators.Discord is { } dc)
        {
            AddProvider(settings, "discord", "Discord");
            settings["Portcullis:Providers:discord:Endpoints:Authorization"] = dc.AuthorizationEndpoint;
            settings["Portcullis:Providers:discord:Endpoints:Api"] = dc.ApiUrl;
        }

        if (simulators.Facebook is { } fb)
        {
            AddProvider(settings, "facebook", "Facebook");
            settings["Portcullis:Providers:facebook:Endpoints:Authorization"] = fb.AuthorizationEndpoint;
            settings["Portcullis:Providers:facebook:Endpoints:Api"] = fb.ApiUrl;
        }

        adjust?.Invoke(settings);
        var gateway = await GatewayHost.StartAsync(settings, port, dataDirectory, configure, clock);
        return new ProviderStack(gateway, settings, idp, simulators.GitHub, simulators.Discord, simulators.Facebook);
    }

    /// <summary>Signs <paramref name="username"/> in at <paramref name="provider"/> through the gateway; returns the landing page.</summary>
    public async Task<RecordedResponse> LoginAsync(BrowserClient browser, string provider, string username, string extraQuery = "")
    {
        var callback = await browser.AuthorizeAtProviderAsync($"{Origin}/bff/login?provider={provider}{extraQuery}", username);
        return await browser.GetAsync(callback);
    }

    /// <summary>
    /// What the app does to link another account: <c>POST /bff/link</c> from its own origin with the anti-forgery header;
    /// returns the provider URL the answer names.
    /// </summary>
    public async Task<string> StartLinkAsync(BrowserClient browser, string provider)
    {
        var response = await browser.SendAsync(HttpMethod.Post, $"{Origin}/bff/link?provider={provider}", null, AppRequestHeaders(Origin));
        Assert.True(response.Status == System.Net.HttpStatusCode.OK, $"/bff/link answered {(int)response.Status}: {response.Body}");
        return JsonDocument.Parse(response.Body).RootElement.GetProperty("url").GetString()!;
    }

    /// <summary>A whole link: start it as the app does, sign in at the provider, let the callback complete it.</summary>
    public async Task<RecordedResponse> LinkAsync(BrowserClient browser, string provider, string username)
    {
        var callback = await browser.AuthorizeAtProviderAsync(await StartLinkAsync(browser, provider), username);
        return await browser.GetAsync(callback);
    }

    /// <summary>The headers a browser's <c>fetch</c> from <paramref name="origin"/> carries, with the anti-forgery header.</summary>
    public static Dictionary<string, string> AppRequestHeaders(string origin, string fetchSite = "same-origin") =>
        new() { ["X-CSRF"] = "1", ["Origin"] = origin, ["Sec-Fetch-Site"] = fetchSite };

    /// <summary>The signed-in user as <c>GET /bff/user</c> shows it.</summary>
    public async Task<JsonElement> UserAsync(BrowserClient browser, IDictionary<string, string>? headers = null)
    {
        var response = await browser.GetAsync($"{Origin}/bff/user", headers ?? BrowserClient.Csrf);
        Assert.True(response.Status == System.Net.HttpStatusCode.OK, $"/bff/user answered {(int)response.Status}: {response.Body}");
        return JsonDocument.Parse(response.Body).RootElement.Clone();
    }

    public Task<List<object?[]>> RowsAsync(string sql) => SqliteRows.QueryAsync(DataDirectory, sql);

    /// <summary>Every token any provider of this stack issued.</summary>
    public async Task<string[]> AllIssuedTokensAsync()
    {
        var simulated = new ProviderSimulator?[] { GitHub, Discord, Facebook }.OfType<ProviderSimulator>().SelectMany(s => s.Observed.IssuedTokens);
        return Idp is null ? simulated.ToArray() : [.. simulated, .. await Idp.AllTokenValuesAsync()];
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        foreach (var simulator in new ProviderSimulator?[] { GitHub, Discord, Facebook }.OfType<ProviderSimulator>())
        {
            await simulator.DisposeAsync();
        }

        if (Idp is not null)
        {
            await Idp.DisposeAsync();
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static SimulatedClient Client(string origin, string name) => new(ClientId, ClientSecret, [$"{origin}/bff/callback/{name}"]);

    private static void AddProvider(Dictionary<string, string?> settings, string name, string displayName)
    {
        settings[$"Portcullis:Providers:{name}:Kind"] = name;
        settings[$"Portcullis:Providers:{name}:DisplayName"] = displayName;
        settings[$"Portcullis:Providers:{name}:ClientId"] = ClientId;
        settings[$"Portcullis:Providers:{name}:ClientSecret"] = ClientSecret;
    }

    /// <summary>The simulators before they start, for tests to set switches and users.</summary>
    public sealed record Simulators(GitHubSimulator? GitHub, DiscordSimulator? Discord, FacebookSimulator? Facebook);
}
