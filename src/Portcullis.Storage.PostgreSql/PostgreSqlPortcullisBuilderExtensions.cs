using Portcullis.Configuration;
using Portcullis.Storage.PostgreSql;

namespace Portcullis;

/// <summary>Chooses the PostgreSQL store on <see cref="PortcullisBuilder"/>.</summary>
public static class PostgreSqlPortcullisBuilderExtensions
{
    /// <summary>
    /// Uses PostgreSQL as the store (<c>Portcullis:Store:Kind = postgres</c>), shared by every gateway node, with the
    /// Data Protection key ring in the same database. The connection string comes from
    /// <c>Portcullis:Store:ConnectionString</c> unless <paramref name="configure"/> sets it. Safe to call twice; the last
    /// store chosen wins.
    /// </summary>
    public static PortcullisBuilder AddPostgreSqlStore(this PortcullisBuilder builder, Action<StoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddStore(new PostgresStoreBackend(), configure);
    }
}
