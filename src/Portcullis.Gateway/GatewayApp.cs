using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Gateway;

/// <summary>The configuration-driven gateway: no C# needed to deploy it.</summary>
public static class GatewayApp
{
    /// <summary>Environment variable naming an extra JSON configuration file, like <c>--config PATH</c>.</summary>
    public const string ConfigFileVariable = "PORTCULLIS_CONFIG";

    /// <summary>
    /// Builds the gateway as the runnable host does (appsettings, <c>--config PATH</c>, environment, command line),
    /// letting <paramref name="configure"/> add to the builder before services are built.
    /// </summary>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Relative paths (store, static root) resolve against the working directory, like any server's data folder;
        // the defaults shipped beside the binary are the lowest configuration layer.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
        var shippedDefaults = new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource
        {
            Path = Path.Combine(AppContext.BaseDirectory, "appsettings.json"),
            Optional = true,
        };
        // An absolute path needs a file provider rooted at its own folder; left unset, the builder would root it at the
        // working directory and silently skip the file.
        shippedDefaults.ResolveFileProvider();
        builder.Configuration.Sources.Insert(0, shippedDefaults);
        var configFile = AddConfigFile(builder, args);
        configure?.Invoke(builder);

        var section = builder.Configuration.GetSection(PortcullisOptions.SectionName);
        AddStore(builder.Services.AddPortcullis(section), section);
        GatewayTelemetry.Add(builder.Services, section);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

        var app = builder.Build();
        if (configFile is not null)
        {
            configFile.Logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(LastGoodJsonConfigurationSource));
        }

        var management = GatewayManagement.Listen(app, section);
        GatewayForwardAuthListener.Listen(app, section);
        GatewayErrorBoundary.Use(app);
        app.UsePortcullis();
        management?.Use(app);
        UseFrontend(app);
        app.MapPortcullis();
        GatewayTelemetry.Map(app, section, onManagementPort: management is not null);
        return app;
    }

    /// <summary>
    /// Maps <c>Portcullis:Store:Kind</c> to the store's builder method. An unknown kind adds nothing: the default SQLite
    /// stays registered and start-up validation refuses the kind, naming the key. <c>Session:StatelessRefreshCoordinator</c>
    /// adds the Redis refresh coordinator (ADR 0033).
    /// </summary>
    private static void AddStore(PortcullisBuilder portcullis, IConfiguration section)
    {
        switch (section["Store:Kind"])
        {
            case StoreKinds.Postgres:
                portcullis.AddPostgreSqlStore();
                break;
            case StoreKinds.Redis:
                portcullis.AddRedisStore();
                break;
            case StoreKinds.Sqlite or null:
                portcullis.AddSqliteStore();
                break;
        }

        if (!string.IsNullOrEmpty(section["Session:StatelessRefreshCoordinator"]))
        {
            portcullis.AddRedisRefreshCoordinator();
        }
    }

    /// <summary>
    /// The extra file sits above appsettings but below the environment and command line, so a secret can still come
    /// from an environment variable (<c>Portcullis__Providers__main__ClientSecret</c>).
    /// </summary>
    private static LastGoodJsonConfigurationSource? AddConfigFile(WebApplicationBuilder builder, string[] args)
    {
        var path = builder.Configuration["config"] ?? Environment.GetEnvironmentVariable(ConfigFileVariable);
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new GatewayConfigurationException($"--config: the file '{fullPath}' does not exist.");
        }

        // Watched: API routes and allowed origins apply without a restart; a change that fails validation is refused
        // and logged, and the configuration in force stays (docs/configuration.md, "Reload").
        var source = new LastGoodJsonConfigurationSource { Path = fullPath, Optional = false, ReloadOnChange = true };
        source.ResolveFileProvider();
        ((IConfigurationBuilder)builder.Configuration).Add(source);
        builder.Configuration.AddEnvironmentVariables();
        builder.Configuration.AddCommandLine(args);
        return source;
    }

    private static void UseFrontend(WebApplication app)
    {
        var root = app.Services.GetRequiredService<IOptions<PortcullisOptions>>().Value.Frontend.StaticRoot;
        if (string.IsNullOrEmpty(root) || !Directory.Exists(root))
        {
            return; // The validator reports a missing folder at start.
        }

        var files = new PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
    }
}

/// <summary>The gateway cannot start with the configuration it was given.</summary>
public sealed class GatewayConfigurationException(string message) : Exception(message);
