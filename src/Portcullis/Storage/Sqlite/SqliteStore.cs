using Microsoft.Data.Sqlite;

namespace Portcullis.Storage.Sqlite;

/// <summary>
/// The embedded default store: one SQLite file in WAL mode. Each call opens a pooled connection, so the store
/// is safe to share between requests; SQLite's own locking serialises writers.
/// </summary>
internal sealed partial class SqliteStore : IPortcullisStore, IDisposable
{
    private readonly string _connectionString;

    /// <summary>The connection string of the file (the change feed watches the same file).</summary>
    public string ConnectionString => _connectionString;
    private readonly TimeProvider _time;

    // Every API call runs this read (ADR 0017): it stays compiled instead of being parsed anew each time.
    private readonly PreparedStatementPool _sessionAndGrantReads;

    /// <param name="connectionString">The SQLite connection string (its data source is the file).</param>
    /// <param name="time">The clock leases expire by (the node's: SQLite has none of its own). The default is the system clock.</param>
    public SqliteStore(string connectionString, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _connectionString = new SqliteConnectionStringBuilder(connectionString) { Pooling = true, DefaultTimeout = 30 }.ToString();
        _sessionAndGrantReads = new PreparedStatementPool(
            _connectionString,
            $"""
            SELECT {SqlRows.QualifiedSessionColumns}, {SqlRows.GrantColumns} FROM sessions LEFT JOIN grants ON grants.id = sessions.grant_id
            WHERE sessions.key = $key AND sessions.idle_expires_at > $now AND sessions.absolute_expires_at > $now;
            """,
            "$key",
            "$now");
    }

    public void Dispose() => _sessionAndGrantReads.Dispose();

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var builder = new SqliteConnectionStringBuilder(_connectionString);
        if (!string.IsNullOrEmpty(builder.DataSource) && builder.DataSource != ":memory:")
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }

        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, "PRAGMA journal_mode=WAL;", cancellationToken);
        var version = Convert.ToInt32(await ScalarAsync(connection, "PRAGMA user_version;", cancellationToken));
        for (var step = version; step < SqliteSchema.Migrations.Length; step++)
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await ExecuteAsync(connection, SqliteSchema.Migrations[step], cancellationToken, transaction);
            await ExecuteAsync(connection, $"PRAGMA user_version = {step + 1};", cancellationToken, transaction);
            await transaction.CommitAsync(cancellationToken);
        }
    }

    public async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            return Convert.ToInt32(await ScalarAsync(connection, "SELECT 1;", cancellationToken)) == 1;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    public async Task<UserRecord> GetOrCreateUserAsync(string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        if (await FindUserByIdentityAsync(connection, provider, subject, cancellationToken) is { } existing)
        {
            return existing;
        }

        // First sight: a user and its identity in one transaction; a concurrent first login of the same identity
        // inserts nothing (ON CONFLICT) and both read the same row afterwards.
        await using (var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken))
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO users (id, provider, subject, created_at) VALUES ($id, $provider, $subject, $now) ON CONFLICT (provider, subject) DO NOTHING;
                INSERT INTO identities (provider, subject, user_id, created_at)
                SELECT provider, subject, id, created_at FROM users WHERE provider = $provider AND subject = $subject
                ON CONFLICT (provider, subject) DO NOTHING;
                """;
            insert.Parameters.AddWithValue("$id", Identifiers.NewId());
            insert.Parameters.AddWithValue("$provider", provider);
            insert.Parameters.AddWithValue("$subject", subject);
            insert.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            await insert.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        return await FindUserByIdentityAsync(connection, provider, subject, cancellationToken)
            ?? throw new InvalidOperationException("The user just created could not be read back.");
    }

    public async Task<IdentityLinkResult> LinkIdentityAsync(string userId, string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // The primary key (provider, subject) decides races: only one user can ever hold an identity.
        command.CommandText = """
            INSERT INTO identities (provider, subject, user_id, created_at)
            SELECT $provider, $subject, id, $now FROM users WHERE id = $user
            ON CONFLICT (provider, subject) DO NOTHING;
            SELECT user_id FROM identities WHERE provider = $provider AND subject = $subject;
            """;
        command.Parameters.AddWithValue("$provider", provider);
        command.Parameters.AddWithValue("$subject", subject);
        command.Parameters.AddWithValue("$user", userId);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var inserted = reader.RecordsAffected == 1;
        if (!await reader.ReadAsync(cancellationToken) || reader.GetString(0) != userId)
        {
            return IdentityLinkResult.BelongsToAnotherUser;
        }

        return inserted ? IdentityLinkResult.Linked : IdentityLinkResult.AlreadyLinked;
    }

    public async Task<IReadOnlyList<IdentityRecord>> GetIdentitiesAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT provider, subject, user_id, created_at FROM identities WHERE user_id = $user ORDER BY created_at, provider;";
        command.Parameters.AddWithValue("$user", userId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var identities = new List<IdentityRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            identities.Add(new IdentityRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), FromUnix(reader.GetInt64(3))));
        }

        return identities;
    }

    public Task SetIdentityEmailHashAsync(string provider, string subject, string? emailHash, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "UPDATE identities SET email_hash = $hash WHERE provider = $provider AND subject = $subject AND email_hash IS NOT $hash;",
            cancellationToken,
            ("$provider", provider),
            ("$subject", subject),
            ("$hash", emailHash));

    public async Task<IReadOnlyList<string>> FindUsersByEmailHashAsync(IReadOnlyList<string> emailHashes, CancellationToken cancellationToken)
    {
        if (emailHashes.Count == 0)
        {
            return [];
        }

        var names = emailHashes.Select((_, i) => "$h" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return await QueryAsync(
            $"SELECT DISTINCT user_id FROM identities WHERE email_hash IN ({string.Join(", ", names)});",
            reader => reader.GetString(0),
            cancellationToken,
            [.. names.Zip(emailHashes, (name, hash) => (name, (object?)hash))]);
    }

    private static async Task<UserRecord?> FindUserByIdentityAsync(SqliteConnection connection, string provider, string subject, CancellationToken cancellationToken)
    {
        await using var select = connection.CreateCommand();
        select.CommandText = """
            SELECT u.id, u.created_at FROM identities i JOIN users u ON u.id = i.user_id
            WHERE i.provider = $provider AND i.subject = $subject;
            """;
        select.Parameters.AddWithValue("$provider", provider);
        select.Parameters.AddWithValue("$subject", subject);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new UserRecord(reader.GetString(0), provider, subject, FromUnix(reader.GetInt64(1))) : null;
    }

    public async Task SaveLoginTransactionAsync(LoginTransactionRecord transaction, int maxPerBinding, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // Abandoned logins must not pile up: keep only the newest few per browser.
        command.CommandText = """
            INSERT INTO login_transactions (key, binding_hash, data, created_at, expires_at) VALUES ($key, $binding, $data, $now, $expires);
            DELETE FROM login_transactions WHERE binding_hash = $binding AND key NOT IN (
                SELECT key FROM login_transactions WHERE binding_hash = $binding ORDER BY created_at DESC, rowid DESC LIMIT $max);
            """;
        command.Parameters.AddWithValue("$key", transaction.Key);
        command.Parameters.AddWithValue("$binding", transaction.BindingHash);
        command.Parameters.AddWithValue("$data", transaction.Data);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$expires", transaction.ExpiresAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$max", maxPerBinding);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<LoginTransactionRecord?> TakeLoginTransactionAsync(string key, string bindingHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // One statement: two callbacks racing with the same state cannot both get it.
        command.CommandText = """
            DELETE FROM login_transactions WHERE key = $key AND binding_hash = $binding AND expires_at > $now
            RETURNING key, binding_hash, data, expires_at;
            """;
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$binding", bindingHash);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new LoginTransactionRecord(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<byte[]>(2), FromUnix(reader.GetInt64(3)));
    }

    public async Task<UserRecord?> FindUserAsync(string provider, string subject, CancellationToken cancellationToken)
    {
        var users = await QueryAsync(
            // Through identities, so a linked identity finds the user it was linked to.
            "SELECT u.id, u.created_at FROM identities i JOIN users u ON u.id = i.user_id WHERE i.provider = $provider AND i.subject = $subject;",
            reader => new UserRecord(reader.GetString(0), provider, subject, FromUnix(reader.GetInt64(1))),
            cancellationToken,
            ("$provider", provider),
            ("$subject", subject));
        return users.Count == 1 ? users[0] : null;
    }

    public Task<GrantRecord?> GetGrantAsync(string id, CancellationToken cancellationToken) =>
        QueryGrantAsync("WHERE id = $id;", cancellationToken, ("$id", id));

    public Task<GrantRecord?> FindGrantAsync(string userId, string provider, CancellationToken cancellationToken) =>
        QueryGrantAsync("WHERE user_id = $user AND provider = $provider AND offline = 1;", cancellationToken, ("$user", userId), ("$provider", provider));

    public Task<IReadOnlyList<GrantRecord>> ListUnusedGrantsAsync(
        DateTimeOffset now, DateTimeOffset writtenBefore, bool includeOffline, int limit, CancellationToken cancellationToken) =>
        QueryAsync(
            $"""
            SELECT {SqlRows.GrantColumns} FROM grants
            WHERE updated_at < $before AND ($includeOffline = 1 OR offline = 0)
              AND NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.grant_id = grants.id AND idle_expires_at > $now AND absolute_expires_at > $now)
            ORDER BY updated_at LIMIT $limit;
            """,
            reader => SqlRows.ReadGrant(reader, 0),
            cancellationToken,
            ("$before", writtenBefore.ToUnixTimeMilliseconds()),
            ("$includeOffline", includeOffline ? 1 : 0),
            ("$now", now.ToUnixTimeMilliseconds()),
            ("$limit", limit));

    public async Task<bool> SaveGrantAsync(GrantRecord grant, long expectedVersion, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // The offline mark moves in the insert's transaction: never two offline grants (the partial unique index would
        // refuse), and never none after a crash in between.
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        if (expectedVersion == 0 && grant.Offline)
        {
            await using var clear = connection.CreateCommand();
            clear.Transaction = transaction;
            clear.CommandText = "UPDATE grants SET offline = 0 WHERE user_id = $user AND provider = $provider AND offline = 1;";
            clear.Parameters.AddWithValue("$user", grant.UserId);
            clear.Parameters.AddWithValue("$provider", grant.Provider);
            await clear.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = expectedVersion == 0
            ? """
              INSERT INTO grants (id, user_id, provider, tokens, access_token_expires_at, version, updated_at, has_refresh_token, offline, session_keyed)
              VALUES ($id, $user, $provider, $tokens, $expires, $version, $now, $refreshable, $offline, $sessionKeyed) ON CONFLICT DO NOTHING;
              """
            : """
              UPDATE grants SET tokens = $tokens, access_token_expires_at = $expires, version = $version, updated_at = $now,
                  has_refresh_token = $refreshable
              WHERE id = $id AND version = $expected;
              """;
        command.Parameters.AddWithValue("$id", grant.Id);
        command.Parameters.AddWithValue("$user", grant.UserId);
        command.Parameters.AddWithValue("$provider", grant.Provider);
        command.Parameters.AddWithValue("$tokens", grant.Tokens);
        command.Parameters.AddWithValue("$expires", (object?)grant.AccessTokenExpiresAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        command.Parameters.AddWithValue("$version", grant.Version);
        command.Parameters.AddWithValue("$now", grant.UpdatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$expected", expectedVersion);
        command.Parameters.AddWithValue("$refreshable", grant.HasRefreshToken);
        command.Parameters.AddWithValue("$offline", grant.Offline);
        command.Parameters.AddWithValue("$sessionKeyed", grant.SessionKeyed);
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            return false; // Disposing the transaction rolls back: a lost insert must not take the mark from the winner.
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public Task DeleteGrantAsync(string id, CancellationToken cancellationToken) =>
        ExecuteAsync("DELETE FROM grants WHERE id = $id;", cancellationToken, ("$id", id));

    public async Task CreateSessionAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO sessions (key, handle, user_id, grant_id, provider, provider_sid, data, created_at, last_seen_at, idle_expires_at, absolute_expires_at)
            VALUES ($key, $handle, $user, $grant, $provider, $sid, $data, $created, $seen, $idle, $absolute);
            """;
        command.Parameters.AddWithValue("$key", session.Key);
        command.Parameters.AddWithValue("$handle", session.Handle);
        command.Parameters.AddWithValue("$user", session.UserId);
        command.Parameters.AddWithValue("$grant", session.GrantId);
        command.Parameters.AddWithValue("$provider", session.Provider);
        command.Parameters.AddWithValue("$sid", (object?)session.ProviderSessionId ?? DBNull.Value);
        command.Parameters.AddWithValue("$data", session.Data);
        command.Parameters.AddWithValue("$created", session.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$seen", session.LastSeenAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$idle", session.IdleExpiresAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$absolute", session.AbsoluteExpiresAt.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<SessionRecord?> GetSessionAsync(string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var sessions = await QueryAsync(
            $"SELECT {SqlRows.SessionColumns} FROM sessions WHERE key = $key AND idle_expires_at > $now AND absolute_expires_at > $now;",
            SqlRows.ReadSession,
            cancellationToken,
            ("$key", key),
            ("$now", now.ToUnixTimeMilliseconds()));
        return sessions.Count == 1 ? sessions[0] : null;
    }

    public Task<SessionAndGrant?> GetSessionAndGrantAsync(string key, DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult(_sessionAndGrantReads.Execute(ReadSessionAndGrant, key, now.ToUnixTimeMilliseconds()));

    private static SessionAndGrant? ReadSessionAndGrant(SqliteDataReader reader) =>
        reader.Read()
            ? SqlRows.ReadSessionAndGrant(reader)
            : null;

    public Task<IReadOnlyList<SessionRecord>> ListSessionsForUserAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken) =>
        QueryAsync(
            $"""
            SELECT {SqlRows.SessionColumns} FROM sessions WHERE user_id = $user AND idle_expires_at > $now AND absolute_expires_at > $now
            ORDER BY created_at DESC;
            """,
            SqlRows.ReadSession,
            cancellationToken,
            ("$user", userId),
            ("$now", now.ToUnixTimeMilliseconds()));

    public async Task<bool> DeleteSessionByHandleAsync(string userId, string handle, CancellationToken cancellationToken) =>
        await ExecuteAsync("DELETE FROM sessions WHERE user_id = $user AND handle = $handle;", cancellationToken, ("$user", userId), ("$handle", handle)) == 1;

    public Task<int> DeleteSessionsForGrantAsync(string grantId, CancellationToken cancellationToken) =>
        ExecuteAsync("DELETE FROM sessions WHERE grant_id = $grant;", cancellationToken, ("$grant", grantId));

    public Task<int> DeleteSessionsForProviderSessionAsync(string provider, string providerSessionId, CancellationToken cancellationToken) =>
        ExecuteAsync("DELETE FROM sessions WHERE provider = $provider AND provider_sid = $sid;", cancellationToken, ("$provider", provider), ("$sid", providerSessionId));

    public async Task TouchSessionAsync(string key, DateTimeOffset lastSeenAt, DateTimeOffset idleExpiresAt, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE sessions SET last_seen_at = $seen, idle_expires_at = $idle WHERE key = $key;";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$seen", lastSeenAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$idle", idleExpiresAt.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> DeleteSessionAsync(string key, CancellationToken cancellationToken) =>
        await ExecuteAsync("DELETE FROM sessions WHERE key = $key;", cancellationToken, ("$key", key)) == 1;

    public Task<int> DeleteSessionsForUserAsync(string userId, string? provider, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "DELETE FROM sessions WHERE user_id = $user AND ($provider IS NULL OR provider = $provider);",
            cancellationToken,
            ("$user", userId),
            ("$provider", provider));

    public async Task<int> CountSessionsForGrantAsync(string grantId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM sessions WHERE grant_id = $grant AND idle_expires_at > $now AND absolute_expires_at > $now;";
        command.Parameters.AddWithValue("$grant", grantId);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken));
    }

    public async Task<ExpiredSweep> DeleteExpiredAsync(DateTimeOffset now, DateTimeOffset auditBefore, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        // A session whose absolute limit came first (or with its idle expiry) ended "absolute", the others "idle".
        await using var sessions = connection.CreateCommand();
        sessions.Transaction = transaction;
        sessions.CommandText = """
            DELETE FROM sessions WHERE idle_expires_at <= $now OR absolute_expires_at <= $now
            RETURNING absolute_expires_at <= idle_expires_at;
            """;
        sessions.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        var (idle, absolute) = (0, 0);
        await using (var reader = await sessions.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                _ = reader.GetBoolean(0) ? absolute++ : idle++;
            }
        }

        await using var rest = connection.CreateCommand();
        rest.Transaction = transaction;
        rest.CommandText = """
            DELETE FROM login_transactions WHERE expires_at <= $now;
            DELETE FROM leases WHERE expires_at <= $now;
            DELETE FROM used_markers WHERE expires_at <= $now;
            DELETE FROM grants WHERE has_refresh_token = 0 AND access_token_expires_at <= $now
                AND NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.grant_id = grants.id);
            DELETE FROM audit WHERE at < $auditBefore;
            """;
        rest.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        rest.Parameters.AddWithValue("$auditBefore", auditBefore.ToUnixTimeMilliseconds());
        var removed = await rest.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new ExpiredSweep(removed + idle + absolute, idle, absolute);
    }

    private async Task<GrantRecord?> QueryGrantAsync(string where, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var grants = await QueryAsync($"SELECT {SqlRows.GrantColumns} FROM grants " + where, reader => SqlRows.ReadGrant(reader, 0), cancellationToken, parameters);
        return grants.Count == 1 ? grants[0] : null;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken, SqliteTransaction? transaction = null)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    private static DateTimeOffset FromUnix(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
}
