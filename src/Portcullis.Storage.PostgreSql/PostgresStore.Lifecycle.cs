using Npgsql;
using NpgsqlTypes;

namespace Portcullis.Storage.PostgreSql;

/// <summary>Leases, used-markers, pending revocations and the audit log, plus the small query helpers they share.</summary>
internal sealed partial class PostgresStore
{
    // The server's clock in the unit the leases table keeps (Unix milliseconds). clock_timestamp(), not now(): now() is
    // the start of the transaction, which is the same here (one statement) but would not be inside a longer one.
    private const string StoreNowMs = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

    public async Task<bool> TryAcquireLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
        // One statement, judged by the server's clock (ADR 0022): the row is taken only when it is free or its holder's
        // lease ran out, so two nodes cannot both win, whatever their own clocks say.
        await ExecuteAsync(
            $"""
            INSERT INTO leases (name, owner, expires_at) VALUES (@name, @owner, {StoreNowMs} + @duration)
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at WHERE leases.expires_at <= {StoreNowMs};
            """,
            cancellationToken,
            Text("name", name), Text("owner", owner), Long("duration", Milliseconds(duration))) == 1;

    public async Task<bool> TryRenewLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
        await ExecuteAsync(
            $"UPDATE leases SET expires_at = {StoreNowMs} + @duration WHERE name = @name AND owner = @owner AND expires_at > {StoreNowMs};",
            cancellationToken,
            Text("name", name), Text("owner", owner), Long("duration", Milliseconds(duration))) == 1;

    public Task ReleaseLeaseAsync(string name, string owner, CancellationToken cancellationToken) =>
        ExecuteAsync("DELETE FROM leases WHERE name = @name AND owner = @owner;", cancellationToken, Text("name", name), Text("owner", owner));

    private static long Milliseconds(TimeSpan duration) => Math.Max(1, (long)duration.TotalMilliseconds);

    public async Task<bool> TryMarkUsedAsync(string key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken) =>
        await ExecuteAsync(
            """
            INSERT INTO used_markers (key, expires_at) VALUES (@key, @expires)
            ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE used_markers.expires_at <= @now;
            """,
            cancellationToken,
            Text("key", key), Long("expires", expiresAt.ToUnixTimeMilliseconds()), Long("now", now.ToUnixTimeMilliseconds())) == 1;

    public Task SavePendingRevocationAsync(PendingRevocationRecord revocation, CancellationToken cancellationToken) =>
        ExecuteAsync(
            """
            INSERT INTO pending_revocations (id, provider, user_id, token, attempts, next_attempt_at, give_up_at, created_at)
            VALUES (@id, @provider, @user, @token, @attempts, @next, @giveUp, @created);
            """,
            cancellationToken,
            Text("id", revocation.Id), Text("provider", revocation.Provider), Text("user", revocation.UserId), Bytes("token", revocation.Token),
            Int("attempts", revocation.Attempts), Long("next", revocation.NextAttemptAt.ToUnixTimeMilliseconds()),
            Long("giveUp", revocation.GiveUpAt.ToUnixTimeMilliseconds()), Long("created", revocation.CreatedAt.ToUnixTimeMilliseconds()));

    public Task<IReadOnlyList<PendingRevocationRecord>> ClaimDueRevocationsAsync(DateTimeOffset now, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken) =>
        // SKIP LOCKED: a row another node is claiming right now is passed over, never handed to both.
        QueryAsync(
            """
            UPDATE pending_revocations SET next_attempt_at = @claimUntil
            WHERE id IN (SELECT id FROM pending_revocations WHERE next_attempt_at <= @now ORDER BY next_attempt_at LIMIT @limit FOR UPDATE SKIP LOCKED)
            RETURNING id, provider, user_id, token, attempts, give_up_at, created_at;
            """,
            reader => new PendingRevocationRecord(
                reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetFieldValue<byte[]>(3),
                reader.GetInt32(4), now, FromUnix(reader.GetInt64(5)), FromUnix(reader.GetInt64(6))),
            cancellationToken,
            Long("now", now.ToUnixTimeMilliseconds()), Long("claimUntil", claimUntil.ToUnixTimeMilliseconds()), Int("limit", limit));

    public Task UpdatePendingRevocationAsync(string id, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "UPDATE pending_revocations SET attempts = @attempts, next_attempt_at = @next WHERE id = @id;",
            cancellationToken,
            Text("id", id), Int("attempts", attempts), Long("next", nextAttemptAt.ToUnixTimeMilliseconds()));

    public Task DeletePendingRevocationAsync(string id, CancellationToken cancellationToken) =>
        ExecuteAsync("DELETE FROM pending_revocations WHERE id = @id;", cancellationToken, Text("id", id));

    public async Task<long> CountPendingRevocationsAsync(CancellationToken cancellationToken) =>
        Convert.ToInt64(await ScalarAsync("SELECT COUNT(*) FROM pending_revocations;", cancellationToken));

    public Task AppendAuditAsync(AuditRecord entry, CancellationToken cancellationToken) =>
        ExecuteAsync(
            """
            INSERT INTO audit (at, event, outcome, user_id, provider, session_handle, actor, detail)
            VALUES (@at, @event, @outcome, @user, @provider, @handle, @actor, @detail);
            """,
            cancellationToken,
            Long("at", entry.At.ToUnixTimeMilliseconds()), Text("event", entry.Event), Text("outcome", entry.Outcome), Text("user", entry.UserId),
            Text("provider", entry.Provider), Text("handle", entry.SessionHandle), Text("actor", entry.Actor), Text("detail", entry.Detail));

    public Task<IReadOnlyList<AuditRecord>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken) =>
        QueryAsync(
            """
            SELECT id, at, event, outcome, user_id, provider, session_handle, actor, detail FROM audit
            WHERE (@user::text IS NULL OR user_id = @user) AND (@event::text IS NULL OR event = @event) AND (@since::bigint IS NULL OR at >= @since)
            ORDER BY id DESC LIMIT @limit;
            """,
            reader => new AuditRecord(
                reader.GetInt64(0), FromUnix(reader.GetInt64(1)), reader.GetString(2), reader.GetString(3),
                OptionalString(reader, 4), OptionalString(reader, 5), OptionalString(reader, 6), OptionalString(reader, 7), OptionalString(reader, 8)),
            cancellationToken,
            Text("user", query.UserId), Text("event", query.Event), Long("since", query.Since?.ToUnixTimeMilliseconds()), Int("limit", query.Limit));

    internal readonly record struct Parameter(string Name, object? Value, NpgsqlDbType Type)
    {
        public static implicit operator Parameter((string Name, object? Value, NpgsqlDbType Type) tuple) => new(tuple.Name, tuple.Value, tuple.Type);
    }

    private static Parameter Text(string name, string? value) => new(name, value, NpgsqlDbType.Text);

    private static Parameter Long(string name, long? value) => new(name, value, NpgsqlDbType.Bigint);

    private static Parameter Int(string name, int value) => new(name, value, NpgsqlDbType.Integer);

    private static Parameter Bytes(string name, byte[] value) => new(name, value, NpgsqlDbType.Bytea);

    internal async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params Parameter[] parameters)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal async Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken, params Parameter[] parameters)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, sql, parameters);
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    internal async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params Parameter[] parameters)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params Parameter[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value, type) in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value ?? DBNull.Value });
        }

        return command;
    }

    private static string? OptionalString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset FromUnix(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
}
