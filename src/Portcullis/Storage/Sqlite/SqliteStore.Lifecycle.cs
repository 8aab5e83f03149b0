using Microsoft.Data.Sqlite;

namespace Portcullis.Storage.Sqlite;

/// <summary>Leases, used-markers, pending revocations and the audit log, plus the small query helpers they share.</summary>
internal sealed partial class SqliteStore
{
    // SQLite is one file on one host, so "the store's clock" is this host's: the node's TimeProvider (ADR 0022). Every
    // node sharing the file shares that clock.
    public async Task<bool> TryAcquireLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        // One statement: the row is taken only when it is free or its holder's lease ran out, so two nodes cannot both win.
        return await ExecuteAsync(
            """
            INSERT INTO leases (name, owner, expires_at) VALUES ($name, $owner, $expires)
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at WHERE leases.expires_at <= $now;
            """,
            cancellationToken,
            ("$name", name),
            ("$owner", owner),
            ("$expires", (now + duration).ToUnixTimeMilliseconds()),
            ("$now", now.ToUnixTimeMilliseconds())) == 1;
    }

    public async Task<bool> TryRenewLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        return await ExecuteAsync(
            "UPDATE leases SET expires_at = $expires WHERE name = $name AND owner = $owner AND expires_at > $now;",
            cancellationToken,
            ("$name", name),
            ("$owner", owner),
            ("$expires", (now + duration).ToUnixTimeMilliseconds()),
            ("$now", now.ToUnixTimeMilliseconds())) == 1;
    }

    public Task ReleaseLeaseAsync(string name, string owner, CancellationToken cancellationToken) =>
        ExecuteAsync("DELETE FROM leases WHERE name = $name AND owner = $owner;", cancellationToken, ("$name", name), ("$owner", owner));

    public async Task<bool> TryMarkUsedAsync(string key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken) =>
        await ExecuteAsync(
            """
            INSERT INTO used_markers (key, expires_at) VALUES ($key, $expires)
            ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE used_markers.expires_at <= $now;
            """,
            cancellationToken,
            ("$key", key),
            ("$expires", expiresAt.ToUnixTimeMilliseconds()),
            ("$now", now.ToUnixTimeMilliseconds())) == 1;

    public Task SavePendingRevocationAsync(PendingRevocationRecord revocation, CancellationToken cancellationToken) =>
        ExecuteAsync(
            """
            INSERT INTO pending_revocations (id, provider, user_id, token, attempts, next_attempt_at, give_up_at, created_at)
            VALUES ($id, $provider, $user, $token, $attempts, $next, $giveUp, $created);
            """,
            cancellationToken,
            ("$id", revocation.Id),
            ("$provider", revocation.Provider),
            ("$user", revocation.UserId),
            ("$token", revocation.Token),
            ("$attempts", revocation.Attempts),
            ("$next", revocation.NextAttemptAt.ToUnixTimeMilliseconds()),
            ("$giveUp", revocation.GiveUpAt.ToUnixTimeMilliseconds()),
            ("$created", revocation.CreatedAt.ToUnixTimeMilliseconds()));

    public Task<IReadOnlyList<PendingRevocationRecord>> ClaimDueRevocationsAsync(DateTimeOffset now, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken) =>
        QueryAsync(
            """
            UPDATE pending_revocations SET next_attempt_at = $claimUntil
            WHERE id IN (SELECT id FROM pending_revocations WHERE next_attempt_at <= $now ORDER BY next_attempt_at LIMIT $limit)
            RETURNING id, provider, user_id, token, attempts, $now, give_up_at, created_at;
            """,
            reader => new PendingRevocationRecord(
                reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetFieldValue<byte[]>(3),
                reader.GetInt32(4), FromUnix(reader.GetInt64(5)), FromUnix(reader.GetInt64(6)), FromUnix(reader.GetInt64(7))),
            cancellationToken,
            ("$now", now.ToUnixTimeMilliseconds()),
            ("$claimUntil", claimUntil.ToUnixTimeMilliseconds()),
            ("$limit", limit));

    public Task UpdatePendingRevocationAsync(string id, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "UPDATE pending_revocations SET attempts = $attempts, next_attempt_at = $next WHERE id = $id;",
            cancellationToken,
            ("$id", id),
            ("$attempts", attempts),
            ("$next", nextAttemptAt.ToUnixTimeMilliseconds()));

    public Task DeletePendingRevocationAsync(string id, CancellationToken cancellationToken) =>
        ExecuteAsync("DELETE FROM pending_revocations WHERE id = $id;", cancellationToken, ("$id", id));

    public async Task<long> CountPendingRevocationsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return Convert.ToInt64(await ScalarAsync(connection, "SELECT COUNT(*) FROM pending_revocations;", cancellationToken));
    }

    public Task AppendAuditAsync(AuditRecord entry, CancellationToken cancellationToken) =>
        ExecuteAsync(
            """
            INSERT INTO audit (at, event, outcome, user_id, provider, session_handle, actor, detail)
            VALUES ($at, $event, $outcome, $user, $provider, $handle, $actor, $detail);
            """,
            cancellationToken,
            ("$at", entry.At.ToUnixTimeMilliseconds()),
            ("$event", entry.Event),
            ("$outcome", entry.Outcome),
            ("$user", entry.UserId),
            ("$provider", entry.Provider),
            ("$handle", entry.SessionHandle),
            ("$actor", entry.Actor),
            ("$detail", entry.Detail));

    public Task<IReadOnlyList<AuditRecord>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken) =>
        QueryAsync(
            """
            SELECT id, at, event, outcome, user_id, provider, session_handle, actor, detail FROM audit
            WHERE ($user IS NULL OR user_id = $user) AND ($event IS NULL OR event = $event) AND ($since IS NULL OR at >= $since)
            ORDER BY id DESC LIMIT $limit;
            """,
            reader => new AuditRecord(
                reader.GetInt64(0), FromUnix(reader.GetInt64(1)), reader.GetString(2), reader.GetString(3),
                OptionalString(reader, 4), OptionalString(reader, 5), OptionalString(reader, 6), OptionalString(reader, 7), OptionalString(reader, 8)),
            cancellationToken,
            ("$user", query.UserId),
            ("$event", query.Event),
            ("$since", query.Since?.ToUnixTimeMilliseconds()),
            ("$limit", query.Limit));

    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Prepare(connection, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<IReadOnlyList<T>> QueryAsync<T>(
        string sql,
        Func<SqliteDataReader, T> read,
        CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Prepare(connection, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql, (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static string? OptionalString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
