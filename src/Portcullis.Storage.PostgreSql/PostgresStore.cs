using Npgsql;
using NpgsqlTypes;

namespace Portcullis.Storage.PostgreSql;

/// <summary>
/// The shared store for several gateway nodes: PostgreSQL through Npgsql, plain SQL. Every write that two nodes can
/// race on is one statement whose outcome the database decides (<c>ON CONFLICT</c>, a conditional <c>UPDATE</c>,
/// <c>DELETE … RETURNING</c>, <c>FOR UPDATE SKIP LOCKED</c>), so a race ends in a clear winner, never a duplicate-key
/// error or a lost update. An authenticated request's lookups go by primary key.
/// </summary>
internal sealed partial class PostgresStore(NpgsqlDataSource dataSource) : IPortcullisStore, IDisposable
{
    public NpgsqlDataSource DataSource => dataSource;

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Nodes starting together wait for each other here instead of running the same migration twice.
        await MigrationCommand(connection, "SELECT pg_advisory_xact_lock(@key);", ("key", PostgresSchema.MigrationLockKey, NpgsqlDbType.Bigint))
            .ExecuteNonQueryAsync(cancellationToken);
        await MigrationCommand(connection, "CREATE TABLE IF NOT EXISTS portcullis_schema (version integer NOT NULL);").ExecuteNonQueryAsync(cancellationToken);
        var version = Convert.ToInt32(await MigrationCommand(connection, "SELECT COALESCE(MAX(version), 0) FROM portcullis_schema;").ExecuteScalarAsync(cancellationToken));
        for (var step = version; step < PostgresSchema.Migrations.Length; step++)
        {
            await MigrationCommand(connection, PostgresSchema.Migrations[step]).ExecuteNonQueryAsync(cancellationToken);
            await MigrationCommand(connection, "DELETE FROM portcullis_schema; INSERT INTO portcullis_schema (version) VALUES (@v);", ("v", step + 1, NpgsqlDbType.Integer))
                .ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// A schema step, or the wait for another node's: not bounded by the hot path's few-second command timeout
    /// (<see cref="PostgresConnectionStrings.DefaultCommandTimeoutSeconds"/>), since a migration on a large table, or a node
    /// waiting for one, legitimately takes longer.
    /// </summary>
    private static NpgsqlCommand MigrationCommand(NpgsqlConnection connection, string sql, params Parameter[] parameters)
    {
        var command = Command(connection, sql, parameters);
        command.CommandTimeout = MigrationTimeoutSeconds;
        return command;
    }

    private const int MigrationTimeoutSeconds = 600;

    public async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        try
        {
            return Convert.ToInt32(await ScalarAsync("SELECT 1;", cancellationToken)) == 1;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    public async Task<UserRecord> GetOrCreateUserAsync(string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (await FindUserAsync(provider, subject, cancellationToken) is { } existing)
        {
            return existing;
        }

        // First sight: one command, one implicit transaction. Each statement takes a fresh snapshot (read committed), so
        // when a concurrent first login wins the users row, the identities insert still sees it and does nothing.
        await ExecuteAsync(
            """
            INSERT INTO users (id, provider, subject, created_at) VALUES (@id, @provider, @subject, @now) ON CONFLICT (provider, subject) DO NOTHING;
            INSERT INTO identities (provider, subject, user_id, created_at)
            SELECT provider, subject, id, created_at FROM users WHERE provider = @provider AND subject = @subject
            ON CONFLICT (provider, subject) DO NOTHING;
            """,
            cancellationToken,
            Text("id", Identifiers.NewId()), Text("provider", provider), Text("subject", subject), Long("now", now.ToUnixTimeMilliseconds()));
        return await FindUserAsync(provider, subject, cancellationToken)
            ?? throw new InvalidOperationException("The user just created could not be read back.");
    }

    public async Task<UserRecord?> FindUserAsync(string provider, string subject, CancellationToken cancellationToken)
    {
        // Through identities, so a linked identity finds the user it was linked to.
        var users = await QueryAsync(
            "SELECT u.id, u.created_at FROM identities i JOIN users u ON u.id = i.user_id WHERE i.provider = @provider AND i.subject = @subject;",
            reader => new UserRecord(reader.GetString(0), provider, subject, FromUnix(reader.GetInt64(1))),
            cancellationToken,
            Text("provider", provider), Text("subject", subject));
        return users.Count == 1 ? users[0] : null;
    }

    public async Task<IdentityLinkResult> LinkIdentityAsync(string userId, string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // The primary key (provider, subject) decides races: only one user can ever hold an identity, and it never moves.
        var inserted = await ExecuteAsync(
            """
            INSERT INTO identities (provider, subject, user_id, created_at)
            SELECT @provider, @subject, id, @now FROM users WHERE id = @user
            ON CONFLICT (provider, subject) DO NOTHING;
            """,
            cancellationToken,
            Text("provider", provider), Text("subject", subject), Text("user", userId), Long("now", now.ToUnixTimeMilliseconds())) == 1;
        var owner = (string?)await ScalarAsync(
            "SELECT user_id FROM identities WHERE provider = @provider AND subject = @subject;", cancellationToken, Text("provider", provider), Text("subject", subject));
        return owner != userId ? IdentityLinkResult.BelongsToAnotherUser : inserted ? IdentityLinkResult.Linked : IdentityLinkResult.AlreadyLinked;
    }

    public Task<IReadOnlyList<IdentityRecord>> GetIdentitiesAsync(string userId, CancellationToken cancellationToken) =>
        QueryAsync(
            "SELECT provider, subject, user_id, created_at FROM identities WHERE user_id = @user ORDER BY created_at, provider;",
            reader => new IdentityRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), FromUnix(reader.GetInt64(3))),
            cancellationToken,
            Text("user", userId));

    public Task SetIdentityEmailHashAsync(string provider, string subject, string? emailHash, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "UPDATE identities SET email_hash = @hash WHERE provider = @provider AND subject = @subject AND email_hash IS DISTINCT FROM @hash;",
            cancellationToken,
            Text("provider", provider), Text("subject", subject), Text("hash", emailHash));

    public async Task<IReadOnlyList<string>> FindUsersByEmailHashAsync(IReadOnlyList<string> emailHashes, CancellationToken cancellationToken) =>
        emailHashes.Count == 0
            ? []
            : await QueryAsync(
                "SELECT DISTINCT user_id FROM identities WHERE email_hash = ANY(@hashes);",
                reader => reader.GetString(0),
                cancellationToken,
                new Parameter("hashes", emailHashes.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));

    public Task SaveLoginTransactionAsync(LoginTransactionRecord transaction, int maxPerBinding, DateTimeOffset now, CancellationToken cancellationToken) =>
        // Abandoned logins must not pile up: keep only the newest few per browser.
        ExecuteAsync(
            """
            INSERT INTO login_transactions (key, binding_hash, data, created_at, expires_at) VALUES (@key, @binding, @data, @now, @expires);
            DELETE FROM login_transactions WHERE binding_hash = @binding AND key NOT IN (
                SELECT key FROM login_transactions WHERE binding_hash = @binding ORDER BY created_at DESC, seq DESC LIMIT @max);
            """,
            cancellationToken,
            Text("key", transaction.Key), Text("binding", transaction.BindingHash), Bytes("data", transaction.Data),
            Long("now", now.ToUnixTimeMilliseconds()), Long("expires", transaction.ExpiresAt.ToUnixTimeMilliseconds()), Int("max", maxPerBinding));

    public async Task<LoginTransactionRecord?> TakeLoginTransactionAsync(string key, string bindingHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // One statement: two callbacks racing with the same state cannot both get it.
        var taken = await QueryAsync(
            """
            DELETE FROM login_transactions WHERE key = @key AND binding_hash = @binding AND expires_at > @now
            RETURNING key, binding_hash, data, expires_at;
            """,
            reader => new LoginTransactionRecord(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<byte[]>(2), FromUnix(reader.GetInt64(3))),
            cancellationToken,
            Text("key", key), Text("binding", bindingHash), Long("now", now.ToUnixTimeMilliseconds()));
        return taken.Count == 1 ? taken[0] : null;
    }

    public Task<GrantRecord?> GetGrantAsync(string id, CancellationToken cancellationToken) =>
        QueryGrantAsync("WHERE id = @a;", Text("a", id), Text("b", null), cancellationToken);

    public Task<GrantRecord?> FindGrantAsync(string userId, string provider, CancellationToken cancellationToken) =>
        QueryGrantAsync("WHERE user_id = @a AND provider = @b AND offline;", Text("a", userId), Text("b", provider), cancellationToken);

    public Task<IReadOnlyList<GrantRecord>> ListUnusedGrantsAsync(
        DateTimeOffset now, DateTimeOffset writtenBefore, bool includeOffline, int limit, CancellationToken cancellationToken) =>
        QueryAsync(
            $"""
            SELECT {SqlRows.GrantColumns} FROM grants
            WHERE updated_at < @before AND (@includeOffline OR NOT offline)
              AND NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.grant_id = grants.id AND idle_expires_at > @now AND absolute_expires_at > @now)
            ORDER BY updated_at LIMIT @limit;
            """,
            reader => SqlRows.ReadGrant(reader, 0),
            cancellationToken,
            Long("before", writtenBefore.ToUnixTimeMilliseconds()),
            new Parameter("includeOffline", includeOffline, NpgsqlTypes.NpgsqlDbType.Boolean),
            Long("now", now.ToUnixTimeMilliseconds()),
            Int("limit", limit));

    public async Task<bool> SaveGrantAsync(GrantRecord grant, long expectedVersion, CancellationToken cancellationToken)
    {
        Parameter[] parameters =
        [
            Text("id", grant.Id), Text("user", grant.UserId), Text("provider", grant.Provider), Bytes("tokens", grant.Tokens),
            Long("expires", grant.AccessTokenExpiresAt?.ToUnixTimeMilliseconds()), Long("version", grant.Version),
            Long("now", grant.UpdatedAt.ToUnixTimeMilliseconds()), Long("expected", expectedVersion),
            ("refreshable", grant.HasRefreshToken, NpgsqlDbType.Boolean), ("offline", grant.Offline, NpgsqlDbType.Boolean), ("sessionKeyed", grant.SessionKeyed, NpgsqlDbType.Boolean),
        ];
        if (expectedVersion != 0)
        {
            // The row lock makes a concurrent writer re-check the version after the winner commits, so exactly one matches.
            return await ExecuteAsync(
                """
                UPDATE grants SET tokens = @tokens, access_token_expires_at = @expires, version = @version, updated_at = @now,
                    has_refresh_token = @refreshable
                WHERE id = @id AND version = @expected;
                """,
                cancellationToken,
                parameters) == 1;
        }

        // Insert: a conflict on the id means another writer won. The offline mark moves in one transaction, so there is
        // never a moment with two offline grants (the partial unique index would refuse) or, after a crash, with none.
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (grant.Offline)
        {
            await using var clear = Command(connection, "UPDATE grants SET offline = false WHERE user_id = @user AND provider = @provider AND offline;", parameters);
            await clear.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var insert = Command(
            connection,
            """
            INSERT INTO grants (id, user_id, provider, tokens, access_token_expires_at, version, updated_at, has_refresh_token, offline, session_keyed)
            VALUES (@id, @user, @provider, @tokens, @expires, @version, @now, @refreshable, @offline, @sessionKeyed) ON CONFLICT DO NOTHING;
            """,
            parameters);
        if (await insert.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            return false; // Disposing the transaction rolls back: a lost insert must not take the mark from the winner.
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public Task DeleteGrantAsync(string id, CancellationToken cancellationToken) =>
        ExecuteAsync("DELETE FROM grants WHERE id = @id;", cancellationToken, Text("id", id));

    public Task CreateSessionAsync(SessionRecord session, CancellationToken cancellationToken) =>
        ExecuteAsync(
            $"INSERT INTO sessions ({SqlRows.SessionColumns}) VALUES (@key, @handle, @user, @grant, @provider, @sid, @data, @created, @seen, @idle, @absolute);",
            cancellationToken,
            Text("key", session.Key), Text("handle", session.Handle), Text("user", session.UserId), Text("grant", session.GrantId),
            Text("provider", session.Provider), Text("sid", session.ProviderSessionId), Bytes("data", session.Data),
            Long("created", session.CreatedAt.ToUnixTimeMilliseconds()), Long("seen", session.LastSeenAt.ToUnixTimeMilliseconds()),
            Long("idle", session.IdleExpiresAt.ToUnixTimeMilliseconds()), Long("absolute", session.AbsoluteExpiresAt.ToUnixTimeMilliseconds()));

    public async Task<SessionRecord?> GetSessionAsync(string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var sessions = await QueryAsync(
            $"SELECT {SqlRows.SessionColumns} FROM sessions WHERE key = @key AND idle_expires_at > @now AND absolute_expires_at > @now;",
            SqlRows.ReadSession,
            cancellationToken,
            Text("key", key), Long("now", now.ToUnixTimeMilliseconds()));
        return sessions.Count == 1 ? sessions[0] : null;
    }

    public async Task<SessionAndGrant?> GetSessionAndGrantAsync(string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(
            $"""
            SELECT {SqlRows.QualifiedSessionColumns}, {SqlRows.GrantColumns} FROM sessions LEFT JOIN grants ON grants.id = sessions.grant_id
            WHERE sessions.key = @key AND sessions.idle_expires_at > @now AND sessions.absolute_expires_at > @now;
            """,
            SqlRows.ReadSessionAndGrant,
            cancellationToken,
            Text("key", key), Long("now", now.ToUnixTimeMilliseconds()));
        return rows.Count == 1 ? rows[0] : null;
    }

    public Task TouchSessionAsync(string key, DateTimeOffset lastSeenAt, DateTimeOffset idleExpiresAt, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "UPDATE sessions SET last_seen_at = @seen, idle_expires_at = @idle WHERE key = @key;",
            cancellationToken,
            Text("key", key), Long("seen", lastSeenAt.ToUnixTimeMilliseconds()), Long("idle", idleExpiresAt.ToUnixTimeMilliseconds()));

    public async Task<bool> DeleteSessionAsync(string key, CancellationToken cancellationToken) =>
        await ExecuteAsync("DELETE FROM sessions WHERE key = @key;", cancellationToken, Text("key", key)) == 1;

    public Task<int> DeleteSessionsForUserAsync(string userId, string? provider, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "DELETE FROM sessions WHERE user_id = @user AND (@provider::text IS NULL OR provider = @provider);",
            cancellationToken,
            Text("user", userId), Text("provider", provider));

    public Task<int> DeleteSessionsForGrantAsync(string grantId, CancellationToken cancellationToken) =>
        ExecuteAsync("DELETE FROM sessions WHERE grant_id = @grant;", cancellationToken, Text("grant", grantId));

    public Task<int> DeleteSessionsForProviderSessionAsync(string provider, string providerSessionId, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "DELETE FROM sessions WHERE provider = @provider AND provider_sid = @sid;",
            cancellationToken,
            Text("provider", provider), Text("sid", providerSessionId));

    public Task<IReadOnlyList<SessionRecord>> ListSessionsForUserAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken) =>
        QueryAsync(
            $"""
            SELECT {SqlRows.SessionColumns} FROM sessions WHERE user_id = @user AND idle_expires_at > @now AND absolute_expires_at > @now
            ORDER BY created_at DESC;
            """,
            SqlRows.ReadSession,
            cancellationToken,
            Text("user", userId), Long("now", now.ToUnixTimeMilliseconds()));

    public async Task<bool> DeleteSessionByHandleAsync(string userId, string handle, CancellationToken cancellationToken) =>
        await ExecuteAsync("DELETE FROM sessions WHERE user_id = @user AND handle = @handle;", cancellationToken, Text("user", userId), Text("handle", handle)) == 1;

    public async Task<int> CountSessionsForGrantAsync(string grantId, DateTimeOffset now, CancellationToken cancellationToken) =>
        Convert.ToInt32(await ScalarAsync(
            "SELECT COUNT(*) FROM sessions WHERE grant_id = @grant AND idle_expires_at > @now AND absolute_expires_at > @now;",
            cancellationToken,
            Text("grant", grantId), Long("now", now.ToUnixTimeMilliseconds())));

    public async Task<ExpiredSweep> DeleteExpiredAsync(DateTimeOffset now, DateTimeOffset auditBefore, CancellationToken cancellationToken)
    {
        // A session whose absolute limit came first (or with its idle expiry) ended "absolute", the others "idle".
        var sessions = await QueryAsync(
            """
            WITH gone AS (DELETE FROM sessions WHERE idle_expires_at <= @now OR absolute_expires_at <= @now
                RETURNING absolute_expires_at <= idle_expires_at AS absolute)
            SELECT COUNT(*) FILTER (WHERE NOT absolute), COUNT(*) FILTER (WHERE absolute) FROM gone;
            """,
            reader => (Idle: (int)reader.GetInt64(0), Absolute: (int)reader.GetInt64(1)),
            cancellationToken,
            Long("now", now.ToUnixTimeMilliseconds()));
        var (idle, absolute) = sessions[0];
        var removed = await ExecuteAsync(
            """
            DELETE FROM login_transactions WHERE expires_at <= @now;
            DELETE FROM leases WHERE expires_at <= @now;
            DELETE FROM used_markers WHERE expires_at <= @now;
            DELETE FROM grants WHERE NOT has_refresh_token AND access_token_expires_at <= @now
                AND NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.grant_id = grants.id);
            DELETE FROM audit WHERE at < @auditBefore;
            """,
            cancellationToken,
            Long("now", now.ToUnixTimeMilliseconds()), Long("auditBefore", auditBefore.ToUnixTimeMilliseconds()));
        return new ExpiredSweep(removed + idle + absolute, idle, absolute);
    }

    public void Dispose() => dataSource.Dispose();

    private async Task<GrantRecord?> QueryGrantAsync(string where, Parameter a, Parameter b, CancellationToken cancellationToken)
    {
        var grants = await QueryAsync(
            $"SELECT {SqlRows.GrantColumns} FROM grants " + where,
            reader => SqlRows.ReadGrant(reader, 0),
            cancellationToken,
            a, b);
        return grants.Count == 1 ? grants[0] : null;
    }
}
