using System.Data.Common;

namespace Portcullis.Storage;

/// <summary>The session and grant columns and their reading, shared by the SQLite and PostgreSQL stores (same schema shape).</summary>
public static class SqlRows
{
    /// <summary>The session columns in the order <see cref="ReadSession"/> reads them.</summary>
    public const string SessionColumns =
        "key, handle, user_id, grant_id, provider, provider_sid, data, created_at, last_seen_at, idle_expires_at, absolute_expires_at";

    /// <summary><see cref="SessionColumns"/>, each prefixed with its table.</summary>
    // Grants share some column names with sessions (user_id, provider), so the join names each column with its table.
    public static readonly string QualifiedSessionColumns = string.Join(", ", SessionColumns.Split(", ").Select(column => "sessions." + column));

    /// <summary>How many columns a session row has (where a joined grant's columns begin).</summary>
    public static readonly int SessionColumnCount = SessionColumns.Split(", ").Length;

    /// <summary>The grant columns in the order <see cref="ReadGrant"/> reads them.</summary>
    public const string GrantColumns =
        "grants.id, grants.user_id, grants.provider, grants.tokens, grants.access_token_expires_at, grants.version, grants.updated_at, grants.has_refresh_token, grants.offline, grants.session_keyed";

    /// <summary>The session in the current row.</summary>
    public static SessionRecord ReadSession(DbDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetFieldValue<byte[]>(6),
        FromUnix(reader.GetInt64(7)), FromUnix(reader.GetInt64(8)), FromUnix(reader.GetInt64(9)), FromUnix(reader.GetInt64(10)));

    /// <summary>The grant whose columns start at <paramref name="first"/> in the current row.</summary>
    public static GrantRecord ReadGrant(DbDataReader reader, int first) => new(
        reader.GetString(first), reader.GetString(first + 1), reader.GetString(first + 2), reader.GetFieldValue<byte[]>(first + 3),
        reader.IsDBNull(first + 4) ? null : FromUnix(reader.GetInt64(first + 4)), reader.GetInt64(first + 5), FromUnix(reader.GetInt64(first + 6)),
        reader.GetBoolean(first + 7), reader.GetBoolean(first + 8), reader.GetBoolean(first + 9));

    /// <summary>The session and, when the left join found one, its grant (the grant's columns follow the session's).</summary>
    public static SessionAndGrant ReadSessionAndGrant(DbDataReader reader) =>
        new(ReadSession(reader), reader.IsDBNull(SessionColumnCount) ? null : ReadGrant(reader, SessionColumnCount));

    private static DateTimeOffset FromUnix(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
}
