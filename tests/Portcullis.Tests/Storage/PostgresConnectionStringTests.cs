using Npgsql;
using Portcullis.Storage.PostgreSql;

namespace Portcullis.Tests.Storage;

/// <summary>The gateway switches on Npgsql's automatic preparation for its hot statements unless the operator decided.</summary>
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
}
