using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using Portcullis.Simulators;

namespace Portcullis.Samples.DiscordModerators;

/// <summary>
/// A Discord bot's web interface (seed 000) on Portcullis as a library: Razor Pages signed in with Discord, where only members
/// holding the moderator role of one guild get in (policy <c>moderators</c> in <c>Portcullis:Policies</c>). Without Discord
/// credentials it starts the Discord simulator beside itself, with users who are and are not moderators.
/// </summary>
public sealed class ModeratorsApp : IAsyncDisposable
{
    public const string PolicyName = "moderators";
    public const string SimulatedClientId = "moderators-sample";
    public const string SimulatedClientSecret = "moderators-sample-simulated-secret";

    private readonly WebApplication _app;

    private ModeratorsApp(WebApplication app, string url, DiscordSimulator? simulator)
    {
        _app = app;
        Url = url;
        Simulator = simulator;
    }

    /// <summary>Where to open the dashboard, e.g. <c>http://localhost:5180</c>.</summary>
    public string Url { get; }

    /// <summary>The Discord simulator, when no real Discord credentials are configured; null otherwise.</summary>
    public DiscordSimulator? Simulator { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts the sample (and the simulator when needed); <paramref name="configure"/> may add configuration (tests do).</summary>
    public static async Task<ModeratorsApp> StartAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = ProjectDirectory() });
        configure?.Invoke(builder);
        var config = builder.Configuration;
        var port = config.GetValue("Moderators:Port", 5180);
        var origin = config["Portcullis:PublicOrigin"] ?? $"http://localhost:{(port == 0 ? FreePort() : port)}";
        var settings = new Dictionary<string, string?> { ["Portcullis:PublicOrigin"] = origin };

        DiscordSimulator? simulator = null;
        if (string.IsNullOrEmpty(config["Portcullis:Providers:discord:ClientId"]))
        {
            var policy = config.GetSection($"Portcullis:Policies:{PolicyName}:Discord");
            simulator = new DiscordSimulator(
                new SimulatedClient(SimulatedClientId, SimulatedClientSecret, [$"{origin}/bff/callback/discord"]),
                SimulatedUsers(policy["Guild"]!, policy.GetSection("Roles").Get<string[]>() ?? []));
            await simulator.StartAsync();
            settings["Portcullis:Providers:discord:ClientId"] = SimulatedClientId;
            settings["Portcullis:Providers:discord:ClientSecret"] = SimulatedClientSecret;
            settings["Portcullis:Providers:discord:Endpoints:Authorization"] = simulator.AuthorizationEndpoint;
            settings["Portcullis:Providers:discord:Endpoints:Api"] = simulator.ApiUrl;
        }

        if (string.IsNullOrEmpty(config["Portcullis:Store:ConnectionString"]))
        {
            // The simulator forgets its tokens when it stops, so a simulated run starts with an empty store.
            var data = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), simulator is null ? "portcullis-moderators" : $"portcullis-moderators-{Guid.NewGuid():N}")).FullName;
            settings["Portcullis:Store:ConnectionString"] = $"Data Source={Path.Combine(data, "portcullis.db")}";
        }

        config.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls(origin);
        builder.Services.AddPortcullis(config.GetSection("Portcullis"));
        // Application part named explicitly: the pages are found also when another assembly hosts the sample (browser tests).
        builder.Services.AddRazorPages().AddApplicationPart(typeof(ModeratorsApp).Assembly);

        var app = builder.Build();
        app.UsePortcullis();
        app.MapPortcullis();
        app.MapRazorPages();
        app.MapGet("/site.js", () => Results.Text(Assets.Script, "text/javascript"));
        app.MapGet("/site.css", () => Results.Text(Assets.Style, "text/css"));
        // The same named policy guards JSON for the dashboard's script: [Authorize(Policy = "moderators")] in endpoint form.
        app.MapGet("/moderation/reports", () => Results.Json(Reports.Open)).RequireAuthorization(PolicyName);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            if (simulator is not null)
            {
                await simulator.DisposeAsync();
            }

            throw;
        }

        return new ModeratorsApp(app, origin, simulator);
    }

    /// <summary>What <c>dotnet run</c> prints: the URL and, with the simulator, who to sign in as.</summary>
    public string Banner()
    {
        var text = new StringBuilder().AppendLine().AppendLine("Discord moderators sample is running.").AppendLine().AppendLine($"  Open  {Url}");
        if (Simulator is { } simulator)
        {
            text.AppendLine($"  Discord simulator  {simulator.Url} (no real Discord credentials configured; see samples/DiscordModerators/README.md)")
                .AppendLine()
                .AppendLine($"  Test users (password '{ProviderSimulator.Password}'):")
                .AppendLine("    nelly    moderator of the guild: gets in")
                .AppendLine("    mason    member without the moderator role: refused")
                .AppendLine("    outsider not in the guild: refused");
        }
        else
        {
            text.AppendLine("  Signing in with real Discord.");
        }

        return text.AppendLine().Append("Press Ctrl+C to stop.").ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (Simulator is not null)
        {
            await Simulator.DisposeAsync();
        }
    }

    private static SimulatedUser[] SimulatedUsers(string guild, string[] moderatorRoles)
    {
        var nelly = new SimulatedUser("80351110224678912", "nelly") { DisplayName = "Nelly", Email = "nelly@example.com" };
        nelly.GuildRoles[guild] = ["1043857599999999999", .. moderatorRoles.Take(1)];
        var mason = new SimulatedUser("53908232506183680", "mason") { DisplayName = "Mason", Email = "mason@example.com" };
        mason.GuildRoles[guild] = ["1043857599999999999"];
        var outsider = new SimulatedUser("11111111111111111", "outsider") { DisplayName = "Outsider", Email = "outsider@example.com" };
        return [nelly, mason, outsider];
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string ProjectDirectory() =>
        typeof(ModeratorsApp).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "PortcullisSampleProjectDirectory")?.Value is { } directory && Directory.Exists(directory)
            ? directory
            : AppContext.BaseDirectory;
}

/// <summary>The moderation queue the dashboard shows (sample data).</summary>
public sealed record Report(int Id, string Channel, string Author, string Reason);

internal static class Reports
{
    public static readonly Report[] Open =
    [
        new(1042, "#general", "spammy#0001", "Posting invite links"),
        new(1043, "#memes", "loud#4242", "Harassment reported by two members"),
    ];
}
