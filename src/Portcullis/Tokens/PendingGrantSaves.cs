using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Portcullis.Diagnostics;
using Portcullis.Storage;

namespace Portcullis.Tokens;

/// <summary>
/// Refreshed grants this node could not save because the store was out of reach or refused the write (issue 14 item 3, ADR 0022). The
/// provider has already rotated the refresh token, so losing the write would lose the grant: each is kept in memory,
/// used by this node's requests in place of the older version the store still has, and saved in the background,
/// fenced by the version it replaces, until it lands, a newer grant is found, or <see cref="GiveUpAfter"/> passes.
/// </summary>
internal sealed class PendingGrantSaves(IGrantStore store, TimeProvider time, ILogger<PendingGrantSaves> logger) : IDisposable
{
    /// <summary>A store out of reach for longer than this is an outage no retry fixes; the log says so.</summary>
    internal static readonly TimeSpan GiveUpAfter = TimeSpan.FromHours(1);

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250);

    // Short, so the grant lands soon after the store is back: until then other nodes read the version it replaces.
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();

    /// <summary>
    /// <paramref name="stored"/>, or the refreshed version of it this node still has to save: only when the store still
    /// holds exactly the version that one replaces (anything newer, or a deleted grant, wins).
    /// </summary>
    public GrantRecord? Overlay(GrantRecord? stored) =>
        stored is not null && _pending.TryGetValue(stored.Id, out var pending) && pending.ExpectedVersion == stored.Version ? pending.Next : stored;

    /// <summary>Keeps <paramref name="next"/> and saves it in the background over <paramref name="expectedVersion"/>.</summary>
    public void Add(GrantRecord next, long expectedVersion, string reason)
    {
        var pending = new Pending(next, expectedVersion);
        _pending[next.Id] = pending;
        Log.RefreshedGrantSavePending(logger, next.Provider, reason);
        _ = Task.Run(() => SaveUntilLandedAsync(pending));
    }

    private async Task SaveUntilLandedAsync(Pending pending)
    {
        var stop = _stop.Token;
        var started = time.GetTimestamp();
        var delay = FirstRetry;
        var attempts = 0;
        try
        {
            while (true)
            {
                await Task.Delay(delay, time, stop);
                attempts++;
                try
                {
                    if (await store.SaveGrantAsync(pending.Next, pending.ExpectedVersion, stop))
                    {
                        Log.RefreshedGrantSaveLanded(logger, pending.Next.Provider, attempts);
                    }
                    else if (await LandedEarlierAsync(pending, stop))
                    {
                        // An attempt the node took for failed had reached the store (an answer lost on the wire, a
                        // statement held and delivered late): the fence turned the retry away from its own write.
                        Log.RefreshedGrantSaveLanded(logger, pending.Next.Provider, attempts);
                    }
                    else
                    {
                        // The fence: a newer grant (a new sign-in, a logout, another node's refresh) was written meanwhile.
                        Log.RefreshedGrantSaveAbandoned(logger, pending.Next.Provider, attempts, "a newer version of the grant was written");
                    }

                    return;
                }
                catch (Exception exception) when (exception is not (OutOfMemoryException or OperationCanceledException) && time.GetElapsedTime(started) < GiveUpAfter)
                {
                    // Any failure, not only the store's "unavailable": a store refusing writes for a while (a failover's
                    // read-only replica, a full disk) is an outage to wait out too, and giving up loses the grant.
                    delay = delay * 2 < MaxRetry ? delay * 2 : MaxRetry;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Log.RefreshedGrantSaveAbandoned(logger, pending.Next.Provider, attempts, "the node is stopping");
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            Log.RefreshedGrantSaveAbandoned(logger, pending.Next.Provider, attempts, exception.GetType().Name);
        }
        finally
        {
            _pending.TryRemove(new KeyValuePair<string, Pending>(pending.Next.Id, pending));
        }
    }

    /// <summary>Whether the store holds exactly the grant this node meant to save (same version, same ciphertext).</summary>
    private async Task<bool> LandedEarlierAsync(Pending pending, CancellationToken stop) =>
        await store.GetGrantAsync(pending.Next.Id, stop) is { } stored
        && stored.Version == pending.Next.Version
        && stored.Tokens.AsSpan().SequenceEqual(pending.Next.Tokens);

    // Cancelled, not disposed: a save loop may still be reading the token while it winds down.
    public void Dispose() => _stop.Cancel();

    private sealed record Pending(GrantRecord Next, long ExpectedVersion);
}
