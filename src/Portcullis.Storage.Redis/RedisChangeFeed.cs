using StackExchange.Redis;

namespace Portcullis.Storage.Redis;

/// <summary>
/// Redis's change feed (ADR 0040): pub/sub on <c>{prefix}changes</c>. StackExchange.Redis reconnects and resubscribes
/// on its own but says only that a connection failed, not when the subscription is live again; so the feed proves it
/// with a probe it publishes to itself (every second, and every 100 ms while lost): the node is
/// <see cref="IStoreChangeObserver.Listening"/> only once a probe published after the break came back, and
/// <see cref="IStoreChangeObserver.Lost"/> as soon as a connection fails or a probe does not come back in time.
/// </summary>
internal sealed class RedisChangeFeed(RedisStore store) : IStoreChangeFeed
{
    private const string ProbeMarker = "probe:";

    // Real time, not the injected clock: probes are about the network, which a test's fake clock does not move.
    private static readonly TimeProvider Time = TimeProvider.System;
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ProbeEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ProbeWhileLost = TimeSpan.FromMilliseconds(100);

    private readonly RedisChannel _channel = RedisChannel.Literal(store.Prefix + "changes");
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly string _probeNonce = Identifiers.NewId();
    private IStoreChangeObserver? _observer;
    private TaskCompletionSource? _probe;
    private string? _probeValue;
    private long _probes;
    private bool _listening;
    private Task _loop = Task.CompletedTask;

    public void Start(IStoreChangeObserver observer)
    {
        _observer = observer;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public async Task PublishAsync(string change, CancellationToken cancellationToken)
    {
        var multiplexer = await store.ConnectionAsync();
        await multiplexer.GetSubscriber().PublishAsync(_channel, change);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            var multiplexer = await store.ConnectionAsync();
            multiplexer.ConnectionFailed += (_, failure) => Lose(failure.Exception);
            await SubscribeAsync(multiplexer, cancellationToken);
            while (true)
            {
                await ProbeAsync(multiplexer, cancellationToken);
                await Task.Delay(Volatile.Read(ref _listening) ? ProbeEvery : ProbeWhileLost, Time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task SubscribeAsync(ConnectionMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await multiplexer.GetSubscriber().SubscribeAsync(_channel, (_, message) => Receive(message!));
                return;
            }
            catch (RedisException exception)
            {
                Lose(exception);
                await Task.Delay(ProbeWhileLost, Time, cancellationToken);
            }
        }
    }

    private async Task ProbeAsync(ConnectionMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        TaskCompletionSource probe;
        string value;
        lock (_gate)
        {
            _probe = probe = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _probeValue = value = $"{ProbeMarker}{_probeNonce}:{++_probes}";
        }

        try
        {
            await multiplexer.GetSubscriber().PublishAsync(_channel, value);
            await probe.Task.WaitAsync(ProbeTimeout, Time, cancellationToken);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            Lose(exception);
            return;
        }

        lock (_gate)
        {
            // Came back after a break: everything announced while nobody listened is unknown, the observer starts afresh.
            if (!_listening && ReferenceEquals(_probe, probe))
            {
                _listening = true;
                _observer!.Listening();
            }
        }
    }

    private void Receive(string message)
    {
        if (message.StartsWith(ProbeMarker, StringComparison.Ordinal))
        {
            lock (_gate)
            {
                if (message == _probeValue)
                {
                    _probe?.TrySetResult();
                }
            }

            return;
        }

        lock (_gate)
        {
            if (_listening)
            {
                _observer!.Changed(message);
            }
        }
    }

    private void Lose(Exception? cause)
    {
        lock (_gate)
        {
            // A probe in flight was published before the break: it proves nothing about the subscription after it.
            _probe?.TrySetException(new TimeoutException("The change feed's connection failed."));
            _probe = null;
            _probeValue = null;
            if (_listening)
            {
                _listening = false;
                _observer!.Lost(cause);
            }
        }
    }
}
