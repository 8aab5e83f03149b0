namespace Portcullis.Storage.Redis;

/// <summary>
/// The Lua scripts behind every compare-and-set of <see cref="RedisStore"/>. Redis runs a script atomically, so each
/// one is a single step no other node can interleave with. Scripts build some key names themselves from the prefix in
/// <c>ARGV[1]</c>, which ties the store to one Redis primary (no Redis Cluster; documented in docs/deploy.md).
/// </summary>
internal static class RedisScripts
{
    /// <summary>Deletes one session and its index entries; returns 1 when it existed.</summary>
    private const string DeleteSessionFunction = """
        local function delete_session(prefix, key)
          local s = prefix .. 'session:' .. key
          local v = redis.call('HMGET', s, 'user', 'grant', 'provider', 'sid')
          redis.call('ZREM', prefix .. 'sessions-by-expiry', key)
          if not v[1] then return 0 end
          redis.call('DEL', s)
          redis.call('SREM', prefix .. 'sessions-of-user:' .. v[1], key)
          redis.call('SREM', prefix .. 'sessions-of-grant:' .. v[2], key)
          if v[4] then redis.call('SREM', prefix .. 'sessions-of-sid:' .. string.len(v[3]) .. ':' .. v[3] .. ':' .. v[4], key) end
          return 1
        end

        """;

    // KEYS: identity. ARGV: prefix, new id, created, provider, subject, identity name. Returns {user id, user created}.
    public const string GetOrCreateUser = """
        local user = redis.call('HGET', KEYS[1], 'user')
        if user then return {user, redis.call('HGET', ARGV[1] .. 'user:' .. user, 'created')} end
        redis.call('HSET', ARGV[1] .. 'user:' .. ARGV[2], 'created', ARGV[3], 'provider', ARGV[4], 'subject', ARGV[5])
        redis.call('HSET', KEYS[1], 'user', ARGV[2], 'created', ARGV[3])
        redis.call('SADD', ARGV[1] .. 'identities-of:' .. ARGV[2], ARGV[6])
        return {ARGV[2], ARGV[3]}
        """;

    // KEYS: identity. ARGV: prefix, user id, now, identity name. Returns 0 linked, 1 already linked, 2 someone else's (or no such user).
    public const string LinkIdentity = """
        local owner = redis.call('HGET', KEYS[1], 'user')
        if owner then
          if owner == ARGV[2] then return 1 end
          return 2
        end
        if redis.call('EXISTS', ARGV[1] .. 'user:' .. ARGV[2]) == 0 then return 2 end
        redis.call('HSET', KEYS[1], 'user', ARGV[2], 'created', ARGV[3])
        redis.call('SADD', ARGV[1] .. 'identities-of:' .. ARGV[2], ARGV[4])
        return 0
        """;

    // KEYS: identity. ARGV: prefix, e-mail hash or '' (clear), identity name. The hash field and the index set
    // identities-by-email:<hash> change together (ADR 0039); an unknown identity changes nothing.
    public const string SetIdentityEmailHash = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        local old = redis.call('HGET', KEYS[1], 'email')
        if old == ARGV[2] then return 1 end
        if old then redis.call('SREM', ARGV[1] .. 'identities-by-email:' .. old, ARGV[3]) end
        if ARGV[2] == '' then
          redis.call('HDEL', KEYS[1], 'email')
        else
          redis.call('HSET', KEYS[1], 'email', ARGV[2])
          redis.call('SADD', ARGV[1] .. 'identities-by-email:' .. ARGV[2], ARGV[3])
        end
        return 1
        """;

    // KEYS: login, logins-of-binding, login-seq, logins-by-expiry. ARGV: prefix, key, binding, data, expires, ttl, max.
    public const string SaveLoginTransaction = """
        local seq = redis.call('INCR', KEYS[3])
        redis.call('HSET', KEYS[1], 'binding', ARGV[3], 'data', ARGV[4], 'expires', ARGV[5])
        redis.call('PEXPIRE', KEYS[1], ARGV[6])
        redis.call('ZADD', KEYS[2], seq, ARGV[2])
        redis.call('ZADD', KEYS[4], ARGV[5], ARGV[2])
        local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[7])
        if excess > 0 then
          for _, key in ipairs(redis.call('ZRANGE', KEYS[2], 0, excess - 1)) do
            redis.call('DEL', ARGV[1] .. 'login:' .. key)
            redis.call('ZREM', KEYS[2], key)
            redis.call('ZREM', KEYS[4], key)
          end
        end
        if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[6]) then redis.call('PEXPIRE', KEYS[2], ARGV[6]) end
        return 1
        """;

    // KEYS: login, logins-of-binding, logins-by-expiry. ARGV: prefix, key, binding, now.
    public const string TakeLoginTransaction = """
        local v = redis.call('HMGET', KEYS[1], 'binding', 'data', 'expires')
        if not v[1] or v[1] ~= ARGV[3] or tonumber(v[3]) <= tonumber(ARGV[4]) then return false end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[2])
        redis.call('ZREM', KEYS[3], ARGV[2])
        return {v[2], v[3]}
        """;

    // KEYS: grant, offline-grant-of-user-provider, grants. ARGV: prefix, expected, id, user, provider, tokens, expires,
    // version, updated, refreshable, offline, session-keyed (ADR 0032; set once, at insert). The index names the user's offline grant at the provider (ADR 0027); an
    // offline insert takes it over and clears the mark on the grant it named. Grants written before the mark existed
    // have no 'offline' field: the index alone tells (the store reads it so).
    public const string SaveGrant = """
        if ARGV[2] == '0' then
          if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
          redis.call('HSET', KEYS[1], 'user', ARGV[4], 'provider', ARGV[5], 'tokens', ARGV[6], 'expires', ARGV[7],
            'version', ARGV[8], 'updated', ARGV[9], 'refreshable', ARGV[10], 'offline', ARGV[11], 'keyed', ARGV[12])
          if ARGV[11] == '1' then
            local previous = redis.call('GET', KEYS[2])
            if previous then redis.call('HSET', ARGV[1] .. 'grant:' .. previous, 'offline', '0') end
            redis.call('SET', KEYS[2], ARGV[3])
          end
          redis.call('SADD', KEYS[3], ARGV[3])
          return 1
        end
        if redis.call('HGET', KEYS[1], 'version') ~= ARGV[2] then return 0 end
        redis.call('HSET', KEYS[1], 'tokens', ARGV[6], 'expires', ARGV[7], 'version', ARGV[8], 'updated', ARGV[9], 'refreshable', ARGV[10])
        return 1
        """;

    // KEYS: grant, grants. ARGV: prefix, id.
    public const string DeleteGrant = """
        local v = redis.call('HMGET', KEYS[1], 'user', 'provider')
        if v[1] then
          local index = ARGV[1] .. 'grant-of:' .. v[1] .. ':' .. v[2]
          if redis.call('GET', index) == ARGV[2] then redis.call('DEL', index) end
        end
        redis.call('DEL', KEYS[1])
        redis.call('SREM', KEYS[2], ARGV[2])
        return 1
        """;

    // KEYS: session, sessions-of-user, sessions-of-grant, sessions-by-expiry, sessions-of-sid (unused without sid).
    // ARGV: prefix, key, handle, user, grant, provider, sid or '', data, created, seen, idle, absolute, ttl, expiry.
    public const string CreateSession = """
        redis.call('HSET', KEYS[1], 'handle', ARGV[3], 'user', ARGV[4], 'grant', ARGV[5], 'provider', ARGV[6], 'data', ARGV[8],
          'created', ARGV[9], 'seen', ARGV[10], 'idle', ARGV[11], 'absolute', ARGV[12])
        if ARGV[7] ~= '' then
          redis.call('HSET', KEYS[1], 'sid', ARGV[7])
          redis.call('SADD', KEYS[5], ARGV[2])
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[13])
        redis.call('SADD', KEYS[2], ARGV[2])
        redis.call('SADD', KEYS[3], ARGV[2])
        redis.call('ZADD', KEYS[4], ARGV[14], ARGV[2])
        return 1
        """;

    // KEYS: session. ARGV: prefix, then the session's field names, "|", the grant's field names. Returns {session values,
    // grant values} (the grant's all nil when it is gone), or an empty array when there is no session.
    public const string GetSessionAndGrant = """
        local split = 2
        while ARGV[split] ~= '|' do split = split + 1 end
        local s = redis.call('HMGET', KEYS[1], unpack(ARGV, 2, split - 1))
        if not s[1] then return {} end
        local g = redis.call('HMGET', ARGV[1] .. 'grant:' .. s[3], unpack(ARGV, split + 1))
        return {s, g}
        """;

    // KEYS: session, sessions-by-expiry. ARGV: prefix, key, seen, idle, grace (ms the key outlives the session's expiry,
    // so the sweep can count how it ended; reads filter on expiry).
    public const string TouchSession = """
        local absolute = redis.call('HGET', KEYS[1], 'absolute')
        if not absolute then return 0 end
        local expiry = math.min(tonumber(absolute), tonumber(ARGV[4]))
        redis.call('HSET', KEYS[1], 'seen', ARGV[3], 'idle', ARGV[4])
        redis.call('PEXPIRE', KEYS[1], math.max(1, expiry - tonumber(ARGV[3])) + tonumber(ARGV[5]))
        redis.call('ZADD', KEYS[2], expiry, ARGV[2])
        return 1
        """;

    // ARGV: prefix, key.
    public const string DeleteSession = DeleteSessionFunction + "return delete_session(ARGV[1], ARGV[2])";

    // KEYS: an index set of session keys. ARGV: prefix, provider filter or ''.
    public const string DeleteSessionsInSet = DeleteSessionFunction + """
        local n = 0
        for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          local provider = redis.call('HGET', ARGV[1] .. 'session:' .. key, 'provider')
          if not provider then
            redis.call('SREM', KEYS[1], key)
          elseif ARGV[2] == '' or provider == ARGV[2] then
            n = n + delete_session(ARGV[1], key)
          end
        end
        return n
        """;

    // KEYS: sessions-of-user. ARGV: prefix, handle.
    public const string DeleteSessionByHandle = DeleteSessionFunction + """
        for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          if redis.call('HGET', ARGV[1] .. 'session:' .. key, 'handle') == ARGV[2] then
            return delete_session(ARGV[1], key)
          end
        end
        return 0
        """;

    // KEYS: sessions-by-expiry. ARGV: prefix, now, limit. Returns {entries looked at, idle sessions, absolute sessions}:
    // a session whose absolute limit came first (or with its idle expiry) ended "absolute". An entry whose key Redis
    // already dropped is only unindexed.
    public const string DeleteExpiredSessions = DeleteSessionFunction + """
        local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
        local idle, absolute = 0, 0
        for _, key in ipairs(keys) do
          local v = redis.call('HMGET', ARGV[1] .. 'session:' .. key, 'idle', 'absolute')
          if delete_session(ARGV[1], key) == 1 then
            if tonumber(v[2]) <= tonumber(v[1]) then absolute = absolute + 1 else idle = idle + 1 end
          end
        end
        return {#keys, idle, absolute}
        """;

    // KEYS: logins-by-expiry. ARGV: prefix, now, limit.
    public const string DeleteExpiredLogins = """
        local n = 0
        for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])) do
          local login = ARGV[1] .. 'login:' .. key
          local binding = redis.call('HGET', login, 'binding')
          if binding then
            redis.call('ZREM', ARGV[1] .. 'logins-of:' .. binding, key)
            n = n + redis.call('DEL', login)
          end
          redis.call('ZREM', KEYS[1], key)
        end
        return n
        """;

    // KEYS: grant, sessions-of-grant, grants. ARGV: prefix, id, now. Deletes the grant when nothing can use it any more.
    public const string DeleteGrantIfUnusable = """
        local v = redis.call('HMGET', KEYS[1], 'refreshable', 'expires', 'user', 'provider')
        if not v[1] then redis.call('SREM', KEYS[3], ARGV[2]) return 0 end
        if v[1] ~= '0' or v[2] == '' or tonumber(v[2]) > tonumber(ARGV[3]) then return 0 end
        for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do
          if redis.call('EXISTS', ARGV[1] .. 'session:' .. key) == 1 then return 0 end
        end
        local index = ARGV[1] .. 'grant-of:' .. v[3] .. ':' .. v[4]
        if redis.call('GET', index) == ARGV[2] then redis.call('DEL', index) end
        redis.call('DEL', KEYS[1], KEYS[2])
        redis.call('SREM', KEYS[3], ARGV[2])
        return 1
        """;

    // KEYS: lease. ARGV: prefix, owner, duration (ms). SET NX PX: the key's TTL, kept by Redis' clock, is the lease. The
    // value stays "expires|owner" (expires from Redis' TIME) so nodes of an earlier version, which parse it, keep working
    // during a rolling upgrade.
    public const string TryAcquireLease = """
        local t = redis.call('TIME')
        local expires = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[3])
        if redis.call('SET', KEYS[1], string.format('%d', expires) .. '|' .. ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
        return 0
        """;

    // KEYS: lease. ARGV: prefix, owner, duration (ms). Only the holder, and only while its key lives.
    public const string TryRenewLease = """
        local v = redis.call('GET', KEYS[1])
        if not v or string.sub(v, string.find(v, '|', 1, true) + 1) ~= ARGV[2] then return 0 end
        local t = redis.call('TIME')
        local expires = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[3])
        redis.call('SET', KEYS[1], string.format('%d', expires) .. '|' .. ARGV[2], 'PX', ARGV[3])
        return 1
        """;

    // KEYS: lease. ARGV: prefix, owner.
    public const string ReleaseLease = """
        local v = redis.call('GET', KEYS[1])
        if v and string.sub(v, string.find(v, '|', 1, true) + 1) == ARGV[2] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    // KEYS: marker. ARGV: prefix, expires, now, ttl.
    public const string TryMarkUsed = """
        local v = redis.call('GET', KEYS[1])
        if v and tonumber(v) > tonumber(ARGV[3]) then return 0 end
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
        return 1
        """;

    // KEYS: revocations-due. ARGV: prefix, now, claim-until, limit.
    public const string ClaimDueRevocations = """
        local out = {}
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[4])) do
          redis.call('ZADD', KEYS[1], ARGV[3], id)
          local v = redis.call('HMGET', ARGV[1] .. 'revocation:' .. id, 'provider', 'user', 'token', 'attempts', 'giveup', 'created')
          if v[1] then
            table.insert(out, {id, v[1], v[2], v[3], v[4], v[5], v[6]})
          else
            redis.call('ZREM', KEYS[1], id)
          end
        end
        return out
        """;

    // KEYS: revocation, revocations-due. ARGV: prefix, id, attempts, next.
    public const string UpdatePendingRevocation = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], 'attempts', ARGV[3])
        redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
        return 1
        """;

    // KEYS: audit-seq, audit-ids, audit-by-time, audit-of-user (or any key when no user). ARGV: prefix, at, event, outcome, user, provider, handle, actor, detail.
    public const string AppendAudit = """
        local id = redis.call('INCR', KEYS[1])
        redis.call('HSET', ARGV[1] .. 'audit:' .. id, 'at', ARGV[2], 'event', ARGV[3], 'outcome', ARGV[4], 'user', ARGV[5],
          'provider', ARGV[6], 'handle', ARGV[7], 'actor', ARGV[8], 'detail', ARGV[9])
        redis.call('ZADD', KEYS[2], id, id)
        redis.call('ZADD', KEYS[3], ARGV[2], id)
        if ARGV[5] ~= '' then redis.call('ZADD', KEYS[4], id, id) end
        return id
        """;

    // KEYS: audit-ids, audit-by-time. ARGV: prefix, before (exclusive), limit.
    public const string DeleteOldAudit = """
        local n = 0
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2], 'LIMIT', 0, ARGV[3])) do
          local entry = ARGV[1] .. 'audit:' .. id
          local user = redis.call('HGET', entry, 'user')
          if user and user ~= '' then redis.call('ZREM', ARGV[1] .. 'audit-of-user:' .. user, id) end
          redis.call('DEL', entry)
          redis.call('ZREM', KEYS[1], id)
          redis.call('ZREM', KEYS[2], id)
          n = n + 1
        end
        return n
        """;
}
