using Microsoft.Extensions.Logging;
using Portcullis.Diagnostics;
using Portcullis.Storage;

namespace Portcullis.Tokens;

/// <summary>
/// One node's claim on one grant's refresh in the shared store (ADR 0022). It runs out by the store's clock after
/// <c>Refresh:LeaseDuration</c> unless renewed, so while it is held it is renewed every third of that, until disposed
/// (which gives it back). A holder that could not renew in time has lost it: another node may take it, and only the
/// grant's version, checked at save, keeps the two apart.
/// </summary>
internal sealed class RefreshLease : IAsyncDisposable
{
    private readonly ILeaseStore _leases;
    private readonly string _name;
    private readonly string _owner;
    private readonly TimeSpan _duration;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private Task _renewals = Task.CompletedTask;
    private int _lost;

    private RefreshLease(ILeaseStore leases, string name, string owner, TimeSpan duration, TimeProvider time)
    {
        _leases = leases;
        _name = name;
        _owner = owner;
        _duration = duration;
        _time = time;
    }

    /// <summary>True once a renewal found the lease gone (run out or taken by another node).</summary>
    public bool IsLost => Volatile.Read(ref _lost) == 1;

    /// <summary>The lease, renewed from now on, or null when another node holds it.</summary>
    public static async Task<RefreshLease?> TryAcquireAsync(
        ILeaseStore leases, string grantId, TimeSpan duration, TimeProvider time, Action onLost)
    {
        var lease = new RefreshLease(leases, "refresh:" + grantId, Identifiers.NewId(), duration, time);
        if (!await leases.TryAcquireLeaseAsync(lease._name, lease._owner, duration, CancellationToken.None))
        {
            lease._stop.Dispose();
            return null;
        }

        lease._renewals = lease.RenewAsync(onLost);
        return lease;
    }

    private async Task RenewAsync(Action onLost)
    {
        var period = _duration / 3;
        try
        {
            while (true)
            {
                await Task.Delay(period, _time, _stop.Token);
                bool renewed;
                try
                {
                    renewed = await _leases.TryRenewLeaseAsync(_name, _owner, _duration, _stop.Token);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // The store is out of reach: the lease may still stand by its clock. Try again next period; if the
                    // outage outlasts the lease, the next renewal says so.
                    continue;
                }

                if (!renewed)
                {
                    Volatile.Write(ref _lost, 1);
                    onLost();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposed: the work under the lease is done.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewals;
        _stop.Dispose();
        if (IsLost)
        {
            return; // someone else's now, or nobody's
        }

        try
        {
            await _leases.ReleaseLeaseAsync(_name, _owner, CancellationToken.None);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // Not given back (the store is out of reach): it runs out by itself after Refresh:LeaseDuration.
        }
    }
}
