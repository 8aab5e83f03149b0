using System.Globalization;
using StackExchange.Redis;

namespace Portcullis.Storage.Redis;

/// <summary>Leases, used-markers, pending revocations, the audit log and cleanup.</summary>
internal sealed partial class RedisStore
{
    // Judged by Redis' clock (ADR 0022): the key lives exactly as long as the lease (PX), so a lease exists while its
    // key does, whatever the nodes' clocks say.
    public async Task<bool> TryAcquireLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
        (int)await EvalAsync(RedisScripts.TryAcquireLease, [Key("lease:", name)], owner, LeaseMs(duration)) == 1;

    public async Task<bool> TryRenewLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
        (int)await EvalAsync(RedisScripts.TryRenewLease, [Key("lease:", name)], owner, LeaseMs(duration)) == 1;

    public Task ReleaseLeaseAsync(string name, string owner, CancellationToken cancellationToken) =>
        EvalAsync(RedisScripts.ReleaseLease, [Key("lease:", name)], owner);

    private static long LeaseMs(TimeSpan duration) => Math.Max(1, (long)duration.TotalMilliseconds);

    public async Task<bool> TryMarkUsedAsync(string key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken) =>
        (int)await EvalAsync(RedisScripts.TryMarkUsed, [Key("used:", key)], Ms(expiresAt), Ms(now), Ttl(expiresAt, now)) == 1;

    public async Task SavePendingRevocationAsync(PendingRevocationRecord revocation, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync();
        var transaction = database.CreateTransaction();
        _ = transaction.HashSetAsync(Key("revocation:", revocation.Id),
        [
            new("provider", revocation.Provider), new("user", revocation.UserId ?? ""), new("token", revocation.Token),
            new("attempts", revocation.Attempts), new("giveup", Ms(revocation.GiveUpAt)), new("created", Ms(revocation.CreatedAt)),
        ]);
        _ = transaction.SortedSetAddAsync(Key("revocations-due"), revocation.Id, Ms(revocation.NextAttemptAt));
        await transaction.ExecuteAsync();
    }

    public async Task<IReadOnlyList<PendingRevocationRecord>> ClaimDueRevocationsAsync(DateTimeOffset now, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken)
    {
        var rows = (RedisResult[])(await EvalAsync(RedisScripts.ClaimDueRevocations, [Key("revocations-due")], Ms(now), Ms(claimUntil), limit))!;
        return rows.Select(row =>
        {
            var v = (RedisResult[])row!;
            var user = (string?)v[2];
            return new PendingRevocationRecord(
                (string)v[0]!, (string)v[1]!, string.IsNullOrEmpty(user) ? null : user, (byte[])v[3]!, (int)v[4], now, FromMs((long)v[5]), FromMs((long)v[6]));
        }).ToList();
    }

    public Task UpdatePendingRevocationAsync(string id, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken) =>
        EvalAsync(RedisScripts.UpdatePendingRevocation, [Key("revocation:", id), Key("revocations-due")], id, attempts, Ms(nextAttemptAt));

    public async Task DeletePendingRevocationAsync(string id, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync();
        var transaction = database.CreateTransaction();
        _ = transaction.KeyDeleteAsync(Key("revocation:", id));
        _ = transaction.SortedSetRemoveAsync(Key("revocations-due"), id);
        await transaction.ExecuteAsync();
    }

    public async Task<long> CountPendingRevocationsAsync(CancellationToken cancellationToken) =>
        await (await DatabaseAsync()).SortedSetLengthAsync(Key("revocations-due"));

    public Task AppendAuditAsync(AuditRecord entry, CancellationToken cancellationToken) =>
        EvalAsync(
            RedisScripts.AppendAudit,
            [Key("audit-seq"), Key("audit-ids"), Key("audit-by-time"), Key("audit-of-user:", entry.UserId ?? "-")],
            Ms(entry.At), entry.Event, entry.Outcome, entry.UserId ?? "", entry.Provider ?? "", entry.SessionHandle ?? "", entry.Actor ?? "", entry.Detail ?? "");

    public async Task<IReadOnlyList<AuditRecord>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        const int Page = 200;
        var database = await DatabaseAsync();
        var index = query.UserId is null ? Key("audit-ids") : Key("audit-of-user:", query.UserId);
        var found = new List<AuditRecord>();
        for (long start = 0; found.Count < query.Limit; start += Page)
        {
            var ids = await database.SortedSetRangeByRankAsync(index, start, start + Page - 1, Order.Descending);
            if (ids.Length == 0)
            {
                break;
            }

            var batch = database.CreateBatch();
            var reads = ids.Select(id => batch.HashGetAsync(Key("audit:", (string)id!), AuditFields)).ToArray();
            batch.Execute();
            for (var i = 0; i < ids.Length && found.Count < query.Limit; i++)
            {
                var v = await reads[i];
                if (v[0].IsNull)
                {
                    continue;
                }

                var entry = new AuditRecord(
                    (long)ids[i], FromMs((long)v[0]), (string)v[1]!, (string)v[2]!, Optional(v[3]), Optional(v[4]), Optional(v[5]), Optional(v[6]), Optional(v[7]));
                if ((query.Event is null || entry.Event == query.Event) && (query.Since is null || entry.At >= query.Since))
                {
                    found.Add(entry);
                }
            }
        }

        return found;
    }

    public async Task<ExpiredSweep> DeleteExpiredAsync(DateTimeOffset now, DateTimeOffset auditBefore, CancellationToken cancellationToken)
    {
        // Sessions and login transactions also carry TTLs; this removes what is due on the caller's clock, with their
        // index entries. Leases and used-markers are left to their TTLs: expired ones are free to take again anyway.
        // A session's key outlives its expiry by SessionKeyGraceMs, so it is still here to be counted.
        var (idle, absolute) = (0, 0);
        while (true)
        {
            var batch = (RedisResult[])(await EvalAsync(RedisScripts.DeleteExpiredSessions, [Key("sessions-by-expiry")], Ms(now), CleanupBatch))!;
            idle += (int)batch[1];
            absolute += (int)batch[2];
            if ((int)batch[0] < CleanupBatch)
            {
                break;
            }
        }

        var removed = idle + absolute;
        removed += await RepeatAsync(RedisScripts.DeleteExpiredLogins, [Key("logins-by-expiry")], Ms(now));
        var database = await DatabaseAsync();
        await foreach (var id in database.SetScanAsync(Key("grants"), pageSize: CleanupBatch))
        {
            removed += (int)await EvalAsync(
                RedisScripts.DeleteGrantIfUnusable, [Key("grant:", (string)id!), Key("sessions-of-grant:", (string)id!), Key("grants")], id, Ms(now));
        }

        removed += await RepeatAsync(RedisScripts.DeleteOldAudit, [Key("audit-ids"), Key("audit-by-time")], Ms(auditBefore));
        return new ExpiredSweep(removed, idle, absolute);
    }

    /// <summary>Runs a cleanup script in batches until it removes nothing, so no single script blocks Redis for long.</summary>
    private async Task<int> RepeatAsync(string script, RedisKey[] keys, long bound)
    {
        var total = 0;
        while (true)
        {
            var removed = (int)await EvalAsync(script, keys, bound, CleanupBatch);
            total += removed;
            if (removed < CleanupBatch)
            {
                return total;
            }
        }
    }

    private static readonly RedisValue[] AuditFields = ["at", "event", "outcome", "user", "provider", "handle", "actor", "detail"];

    private static string? Optional(RedisValue value) => value.IsNullOrEmpty ? null : (string?)value;

}
