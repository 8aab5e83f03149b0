using System.Globalization;
using StackExchange.Redis;

namespace Portcullis.Storage.Redis;

/// <summary>
/// The store in Redis (StackExchange.Redis). Sessions, login transactions, leases and used-markers carry TTLs, so
/// Redis forgets them on its own; sets per user, grant and provider <c>sid</c> index sessions so "log out everywhere"
/// and back-channel logout find them. Every compare-and-set is a Lua script (<see cref="RedisScripts"/>), atomic
/// across nodes. Expiry is also checked against the caller's clock, exactly as the SQL stores do, and
/// <see cref="DeleteExpiredAsync"/> removes what is due even before Redis' own TTL fires.
/// </summary>
internal sealed partial class RedisStore : IPortcullisStore, IDisposable
{
    private const int CleanupBatch = 500;

    /// <summary>
    /// How long a session's key outlives the session's expiry: Redis' TTL alone would drop an expired session before the
    /// sweep (every five minutes) could see it and count it as ended <c>idle</c> or <c>absolute</c>. Meanwhile every read
    /// filters on the expiry, as the SQL stores do, so the session is never served.
    /// </summary>
    private static readonly long SessionKeyGraceMs = (long)TimeSpan.FromMinutes(15).TotalMilliseconds;

    private readonly ConfigurationOptions _configuration;
    private readonly string _prefix;
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection;

    public RedisStore(string configuration, string prefix)
    {
        _configuration = ConfigurationOptions.Parse(configuration);
        // Keep reconnecting in the background after a restart; meanwhile fail each command at once (503) instead of
        // queueing it until a timeout.
        _configuration.AbortOnConnectFail = false;
        _configuration.BacklogPolicy = BacklogPolicy.FailFast;
        _configuration.ReconnectRetryPolicy = new LinearRetry(500);
        _prefix = prefix;
        _connection = new Lazy<Task<ConnectionMultiplexer>>(() => ConnectionMultiplexer.ConnectAsync(_configuration));
    }

    /// <summary>The shared connection (the change feed subscribes on it).</summary>
    public Task<ConnectionMultiplexer> ConnectionAsync() => _connection.Value;

    public async Task<IDatabase> DatabaseAsync() => (await _connection.Value).GetDatabase();

    public string Prefix => _prefix;

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        // There is no schema; a ping proves the server is there, so an unreachable Redis stops start-up.
        var database = await DatabaseAsync();
        await database.PingAsync();
    }

    public async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await (await DatabaseAsync()).PingAsync();
            return true;
        }
        catch (RedisException)
        {
            return false;
        }
    }

    public async Task<UserRecord> GetOrCreateUserAsync(string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var result = (RedisResult[])(await EvalAsync(
            RedisScripts.GetOrCreateUser, [IdentityKey(provider, subject)], Identifiers.NewId(), Ms(now), provider, subject, IdentityName(provider, subject)))!;
        return new UserRecord((string)result[0]!, provider, subject, FromMs((long)result[1]));
    }

    public async Task<UserRecord?> FindUserAsync(string provider, string subject, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync();
        var userId = await database.HashGetAsync(IdentityKey(provider, subject), "user");
        if (userId.IsNull)
        {
            return null;
        }

        var created = await database.HashGetAsync(Key("user:", (string)userId!), "created");
        return created.IsNull ? null : new UserRecord((string)userId!, provider, subject, FromMs((long)created));
    }

    public async Task<IdentityLinkResult> LinkIdentityAsync(string userId, string provider, string subject, DateTimeOffset now, CancellationToken cancellationToken) =>
        (int)await EvalAsync(RedisScripts.LinkIdentity, [IdentityKey(provider, subject)], userId, Ms(now), IdentityName(provider, subject)) switch
        {
            0 => IdentityLinkResult.Linked,
            1 => IdentityLinkResult.AlreadyLinked,
            _ => IdentityLinkResult.BelongsToAnotherUser,
        };

    public async Task<IReadOnlyList<IdentityRecord>> GetIdentitiesAsync(string userId, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync();
        var identities = new List<IdentityRecord>();
        foreach (var member in await database.SetMembersAsync(Key("identities-of:", userId)))
        {
            var (provider, subject) = ParseIdentityName((string)member!);
            var created = await database.HashGetAsync(IdentityKey(provider, subject), "created");
            if (!created.IsNull)
            {
                identities.Add(new IdentityRecord(provider, subject, userId, FromMs((long)created)));
            }
        }

        return identities.OrderBy(i => i.CreatedAt).ThenBy(i => i.Provider, StringComparer.Ordinal).ToList();
    }

    public Task SetIdentityEmailHashAsync(string provider, string subject, string? emailHash, CancellationToken cancellationToken) =>
        EvalAsync(RedisScripts.SetIdentityEmailHash, [IdentityKey(provider, subject)], emailHash ?? "", IdentityName(provider, subject));

    public async Task<IReadOnlyList<string>> FindUsersByEmailHashAsync(IReadOnlyList<string> emailHashes, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync();
        var users = new HashSet<string>(StringComparer.Ordinal);
        foreach (var hash in emailHashes)
        {
            foreach (var member in await database.SetMembersAsync(Key("identities-by-email:", hash)))
            {
                var (provider, subject) = ParseIdentityName((string)member!);
                if ((string?)await database.HashGetAsync(IdentityKey(provider, subject), "user") is { } user)
                {
                    users.Add(user);
                }
            }
        }

        return [.. users];
    }

    public Task SaveLoginTransactionAsync(LoginTransactionRecord transaction, int maxPerBinding, DateTimeOffset now, CancellationToken cancellationToken) =>
        EvalAsync(
            RedisScripts.SaveLoginTransaction,
            [Key("login:", transaction.Key), Key("logins-of:", transaction.BindingHash), Key("login-seq"), Key("logins-by-expiry")],
            transaction.Key, transaction.BindingHash, transaction.Data, Ms(transaction.ExpiresAt), Ttl(transaction.ExpiresAt, now), maxPerBinding);

    public async Task<LoginTransactionRecord?> TakeLoginTransactionAsync(string key, string bindingHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var result = await EvalAsync(
            RedisScripts.TakeLoginTransaction,
            [Key("login:", key), Key("logins-of:", bindingHash), Key("logins-by-expiry")],
            key, bindingHash, Ms(now));
        if (result.IsNull)
        {
            return null;
        }

        var values = (RedisResult[])result!;
        return new LoginTransactionRecord(key, bindingHash, (byte[])values[0]!, FromMs((long)values[1]));
    }

    public async Task<GrantRecord?> GetGrantAsync(string id, CancellationToken cancellationToken)
    {
        var values = await (await DatabaseAsync()).HashGetAsync(Key("grant:", id), GrantFields);
        return ToGrant(id, values);
    }

    private static readonly RedisValue[] GrantFields = ["user", "provider", "tokens", "expires", "version", "updated", "refreshable", "offline", "keyed"];

    private static GrantRecord? ToGrant(string id, RedisValue[] values)
    {
        if (values[0].IsNull)
        {
            return null;
        }

        var expires = (string?)values[3];
        return new GrantRecord(
            id, (string)values[0]!, (string)values[1]!, (byte[])values[2]!,
            string.IsNullOrEmpty(expires) ? null : FromMs(long.Parse(expires, CultureInfo.InvariantCulture)),
            (long)values[4], FromMs((long)values[5]), (string?)values[6] == "1",
            // A grant written before one grant per session (ADR 0027) has no mark; it was then the user's only grant at
            // the provider, kept for workers exactly when it could refresh (as the SQL migrations decide).
            values[7].IsNull ? (string?)values[6] == "1" : (string?)values[7] == "1",
            (string?)values[8] == "1");
    }

    public async Task<GrantRecord?> FindGrantAsync(string userId, string provider, CancellationToken cancellationToken)
    {
        var id = await (await DatabaseAsync()).StringGetAsync(GrantIndexKey(userId, provider));
        return id.IsNull ? null : await GetGrantAsync((string)id!, cancellationToken) is { Offline: true } grant ? grant : null;
    }

    public async Task<IReadOnlyList<GrantRecord>> ListUnusedGrantsAsync(
        DateTimeOffset now, DateTimeOffset writtenBefore, bool includeOffline, int limit, CancellationToken cancellationToken)
    {
        // Not one atomic read: a grant may gain a session while this runs. The caller checks each one again before it
        // ends it, and writtenBefore keeps a login between saving its grant and its session out.
        var unused = new List<GrantRecord>();
        await foreach (var id in (await DatabaseAsync()).SetScanAsync(Key("grants"), pageSize: CleanupBatch))
        {
            if (unused.Count >= limit)
            {
                break;
            }

            if (await GetGrantAsync((string)id!, cancellationToken) is { } grant
                && grant.UpdatedAt < writtenBefore
                && (includeOffline || !grant.Offline)
                && await CountSessionsForGrantAsync(grant.Id, now, cancellationToken) == 0)
            {
                unused.Add(grant);
            }
        }

        return unused;
    }

    public async Task<bool> SaveGrantAsync(GrantRecord grant, long expectedVersion, CancellationToken cancellationToken) =>
        (int)await EvalAsync(
            RedisScripts.SaveGrant,
            [Key("grant:", grant.Id), GrantIndexKey(grant.UserId, grant.Provider), Key("grants")],
            expectedVersion, grant.Id, grant.UserId, grant.Provider, grant.Tokens,
            grant.AccessTokenExpiresAt is { } expires ? Ms(expires) : "", grant.Version, Ms(grant.UpdatedAt), grant.HasRefreshToken ? "1" : "0",
            grant.Offline ? "1" : "0", grant.SessionKeyed ? "1" : "0") == 1;

    public Task DeleteGrantAsync(string id, CancellationToken cancellationToken) =>
        EvalAsync(RedisScripts.DeleteGrant, [Key("grant:", id), Key("grants")], id);

    public Task CreateSessionAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        var expiry = session.IdleExpiresAt < session.AbsoluteExpiresAt ? session.IdleExpiresAt : session.AbsoluteExpiresAt;
        return EvalAsync(
            RedisScripts.CreateSession,
            [
                Key("session:", session.Key), Key("sessions-of-user:", session.UserId), Key("sessions-of-grant:", session.GrantId),
                Key("sessions-by-expiry"), session.ProviderSessionId is { } sid ? SidKey(session.Provider, sid) : Key("sessions-of-sid:-"),
            ],
            session.Key, session.Handle, session.UserId, session.GrantId, session.Provider, session.ProviderSessionId ?? "", session.Data,
            Ms(session.CreatedAt), Ms(session.LastSeenAt), Ms(session.IdleExpiresAt), Ms(session.AbsoluteExpiresAt),
            Ttl(expiry, session.LastSeenAt) + SessionKeyGraceMs, Ms(expiry));
    }

    public async Task<SessionRecord?> GetSessionAsync(string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var session = await ReadSessionAsync(await DatabaseAsync(), key);
        return session is not null && IsLive(session, now) ? session : null;
    }

    public async Task<SessionAndGrant?> GetSessionAndGrantAsync(string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var result = (RedisResult[])(await EvalAsync(RedisScripts.GetSessionAndGrant, [Key("session:", key)], SessionAndGrantArguments))!;
        if (result.Length == 0 || ToSession(key, (RedisValue[])result[0]!) is not { } session || !IsLive(session, now))
        {
            return null;
        }

        return new SessionAndGrant(session, ToGrant(session.GrantId, (RedisValue[])result[1]!));
    }

    public Task TouchSessionAsync(string key, DateTimeOffset lastSeenAt, DateTimeOffset idleExpiresAt, CancellationToken cancellationToken) =>
        EvalAsync(RedisScripts.TouchSession, [Key("session:", key), Key("sessions-by-expiry")], key, Ms(lastSeenAt), Ms(idleExpiresAt), SessionKeyGraceMs);

    public async Task<bool> DeleteSessionAsync(string key, CancellationToken cancellationToken) =>
        (int)await EvalAsync(RedisScripts.DeleteSession, [Key("session:", key)], key) == 1;

    public async Task<int> DeleteSessionsForUserAsync(string userId, string? provider, CancellationToken cancellationToken) =>
        (int)await EvalAsync(RedisScripts.DeleteSessionsInSet, [Key("sessions-of-user:", userId)], provider ?? "");

    public async Task<int> DeleteSessionsForGrantAsync(string grantId, CancellationToken cancellationToken) =>
        (int)await EvalAsync(RedisScripts.DeleteSessionsInSet, [Key("sessions-of-grant:", grantId)], "");

    public async Task<int> DeleteSessionsForProviderSessionAsync(string provider, string providerSessionId, CancellationToken cancellationToken) =>
        (int)await EvalAsync(RedisScripts.DeleteSessionsInSet, [SidKey(provider, providerSessionId)], provider);

    public async Task<IReadOnlyList<SessionRecord>> ListSessionsForUserAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var sessions = await ReadSessionsInSetAsync(Key("sessions-of-user:", userId));
        return sessions.Where(s => IsLive(s, now)).OrderByDescending(s => s.CreatedAt).ToList();
    }

    public async Task<bool> DeleteSessionByHandleAsync(string userId, string handle, CancellationToken cancellationToken) =>
        (int)await EvalAsync(RedisScripts.DeleteSessionByHandle, [Key("sessions-of-user:", userId)], handle) == 1;

    public async Task<int> CountSessionsForGrantAsync(string grantId, DateTimeOffset now, CancellationToken cancellationToken) =>
        (await ReadSessionsInSetAsync(Key("sessions-of-grant:", grantId))).Count(s => IsLive(s, now));

    public void Dispose()
    {
        if (_connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully)
        {
            _connection.Value.Result.Dispose();
        }
    }

    private static bool IsLive(SessionRecord session, DateTimeOffset now) => session.IdleExpiresAt > now && session.AbsoluteExpiresAt > now;

    private static readonly RedisValue[] SessionFields =
        ["handle", "user", "grant", "provider", "sid", "data", "created", "seen", "idle", "absolute"];

    // After both field lists: static fields are initialised in the order they are written.
    private static readonly RedisValue[] SessionAndGrantArguments = [.. SessionFields, "|", .. GrantFields];

    private async Task<SessionRecord?> ReadSessionAsync(IDatabaseAsync database, string key)
    {
        return ToSession(key, await database.HashGetAsync(Key("session:", key), SessionFields));
    }

    private static SessionRecord? ToSession(string key, RedisValue[] v) =>
        v[0].IsNull
            ? null
            : new SessionRecord(
                key, (string)v[0]!, (string)v[1]!, (string)v[2]!, (string)v[3]!, (string?)v[4], (byte[])v[5]!,
                FromMs((long)v[6]), FromMs((long)v[7]), FromMs((long)v[8]), FromMs((long)v[9]));

    private async Task<List<SessionRecord>> ReadSessionsInSetAsync(RedisKey set)
    {
        var database = await DatabaseAsync();
        var keys = await database.SetMembersAsync(set);
        var batch = database.CreateBatch();
        var reads = keys.Select(k => ReadSessionAsync(batch, (string)k!)).ToArray();
        batch.Execute();
        return (await Task.WhenAll(reads)).OfType<SessionRecord>().ToList();
    }

    private RedisKey Key(string kind, string? id = null) => _prefix + kind + id;

    // Lengths make the composite keys unambiguous whatever characters a provider name or subject holds.
    private static string IdentityName(string provider, string subject) => $"{provider.Length}:{provider}:{subject}";

    private static (string Provider, string Subject) ParseIdentityName(string name)
    {
        var separator = name.IndexOf(':', StringComparison.Ordinal);
        var length = int.Parse(name.AsSpan(0, separator), System.Globalization.CultureInfo.InvariantCulture);
        return (name.Substring(separator + 1, length), name[(separator + 2 + length)..]);
    }

    private RedisKey IdentityKey(string provider, string subject) => Key("identity:", IdentityName(provider, subject));

    private RedisKey GrantIndexKey(string userId, string provider) => Key("grant-of:", $"{userId}:{provider}");

    private RedisKey SidKey(string provider, string sid) => Key("sessions-of-sid:", $"{provider.Length}:{provider}:{sid}");

    private async Task<RedisResult> EvalAsync(string script, RedisKey[] keys, params RedisValue[] arguments)
    {
        var database = await DatabaseAsync();
        return await database.ScriptEvaluateAsync(script, keys, [_prefix, .. arguments]);
    }

    private static long Ms(DateTimeOffset instant) => instant.ToUnixTimeMilliseconds();

    /// <summary>Redis' own TTL for something that expires at <paramref name="expiresAt"/>, measured on the caller's clock.</summary>
    private static long Ttl(DateTimeOffset expiresAt, DateTimeOffset now) => Math.Max(1, (long)(expiresAt - now).TotalMilliseconds);

    private static DateTimeOffset FromMs(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
}
