using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Storage;
using Portcullis.Storage.PostgreSql;
using Portcullis.Storage.Sqlite;

namespace Portcullis.Tests.Storage;

/// <summary>Choosing the store on <see cref="PortcullisBuilder"/> (ADR 0018).</summary>
public sealed class StoreBuilderTests
{
    [Fact]
    public void TheLastStoreChosenWinsOverConfigurationAndEachBackendIsRegisteredOnce()
    {
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Store:Kind"] = "redis" }).Build();
        services.AddPortcullis(configuration)
            .AddPostgreSqlStore()
            .AddRedisStore()
            .AddPostgreSqlStore(store => store.ConnectionString = "Host=db;Database=portcullis");
        using var provider = services.BuildServiceProvider();

        var options = new PortcullisOptions();
        foreach (var configure in provider.GetServices<IConfigureOptions<PortcullisOptions>>())
        {
            configure.Configure(options);
        }

        Assert.Equal(StoreKinds.Postgres, options.Store.Kind);
        Assert.Equal("Host=db;Database=portcullis", options.Store.ConnectionString);
        Assert.Equal([StoreKinds.Sqlite, StoreKinds.Postgres, StoreKinds.Redis], provider.GetServices<IStoreBackend>().Select(b => b.Kind));
    }

    [Fact]
    public void AKnownKindWithoutItsPackageNamesThePackageAndTheKey()
    {
        var result = new StoreOptionsValidator([new SqliteStoreBackend()]).Validate(null, new PortcullisOptions { Store = { Kind = StoreKinds.Postgres } });

        Assert.True(result.Failed);
        Assert.Contains("Portcullis:Store:Kind", result.FailureMessage);
        Assert.Contains("Portcullis.Storage.PostgreSql", result.FailureMessage);
    }

    [Fact]
    public void ABadConnectionStringNamesTheKeyButNotThePassword()
    {
        var options = new PortcullisOptions { Store = { Kind = StoreKinds.Postgres, ConnectionString = "Host=db;Password=hunter2;Colour=blue" } };
        var result = new StoreOptionsValidator([new SqliteStoreBackend(), new PostgresStoreBackend()]).Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Portcullis:Store:ConnectionString", result.FailureMessage);
        Assert.DoesNotContain("hunter2", result.FailureMessage);
    }
}
