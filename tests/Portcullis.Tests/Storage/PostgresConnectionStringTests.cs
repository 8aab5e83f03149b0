using Npgsql;
using Portcullis.Storage.PostgreSql;

namespace Portcullis.Tests.Storage;

/// <summary>The gateway switches on Npgsql's automatic preparation and bounds its timeouts unless the operator decided.</summary>
public sealed class PostgresConnectionStringTests
{
    [Fact]
    public void AutomaticPreparationIsOnByDefault()
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresConnectionStrings.WithAutoPrepare("Host=db;Database=portcullis;Username=gw;Password=secret"));
        Assert.Equal(32, builder.MaxAutoPrepare);
        Assert.Equal("db", builder.Host);
        Assert.Equal("secret", builder.Password);
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0", 0)]
    [InlineData("Host=db;MaxAutoPrepare=5", 5)]
    [InlineData("Host=db;max auto prepare=7", 7)]
    public void TheOperatorsOwnSettingWins(string connectionString, int expected) =>
        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(PostgresConnectionStrings.WithAutoPrepare(connectionString)).MaxAutoPrepare);

    [Fact]
    public void AHungDatabaseIsGivenUpOnWithinSecondsByDefault()
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresConnectionStrings.ForGateway("Host=db;Database=portcullis"));
        Assert.Equal(15, builder.Timeout); // Npgsql's: it also bounds the wait for a pooled connection under a storm
        Assert.Equal(PostgresConnectionStrings.DefaultCommandTimeoutSeconds, builder.CommandTimeout);
        Assert.Equal(-1, builder.CancellationTimeout);
        Assert.Equal(32, builder.MaxAutoPrepare);
    }

    [Theory]
    [InlineData("Host=db;Timeout=20;Command Timeout=60;Cancellation Timeout=2000")]
    [InlineData("Host=db;timeout=20;CommandTimeout=60;cancellationtimeout=2000")]
    public void TheOperatorsOwnTimeoutsWin(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresConnectionStrings.ForGateway(connectionString));
        Assert.Equal(20, builder.Timeout);
        Assert.Equal(60, builder.CommandTimeout);
        Assert.Equal(2000, builder.CancellationTimeout);
    }
}
