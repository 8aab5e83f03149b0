using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Portcullis.Tests.Infrastructure;

/// <summary>What a <see cref="FaultProxy"/> does to the connections it accepts from now on.</summary>
public enum Fault
{
    /// <summary>Bytes flow both ways as they arrive.</summary>
    None,

    /// <summary>Every chunk, each way, waits <see cref="FaultProxy.Latency"/> first.</summary>
    Latency,

    /// <summary>
    /// The request is read and held, not forwarded, until <see cref="FaultProxy.ReleaseHeld"/>: then it reaches the
    /// server, which handles it and answers late — to a client that may have given up long before. A hung provider.
    /// </summary>
    Hold,

    /// <summary>The request reaches the server; when its answer starts, the client's connection is reset (RST). The
    /// client cannot know whether the request was handled: it was.</summary>
    ResetAfterSend,

    /// <summary>
    /// Connections are accepted and read, and nothing is ever forwarded or answered: the server is gone (powered off,
    /// failed over). When the fault clears, a connection that lost bytes is reset, as the returning server, which knows
    /// nothing of it, would answer the client's retransmission; new connections work.
    /// </summary>
    BlackHole,
}

/// <summary>
/// A TCP proxy on loopback between the gateway and a real server (the provider, the store), which injects faults as
/// they happen in production: latency, a hang that delivers later, a reset after the request was sent, a black hole.
/// The server and the client are real; only the wire between them misbehaves.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Collections.Concurrent.ConcurrentQueue<TaskCompletionSource> _heldInOrder = new();
    private readonly Task _acceptLoop;
    private int _held;
    private int _disposed;

    private FaultProxy(int port, int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptAsync();
    }

    public int Port { get; }

    public Fault Fault
    {
        get => _fault;
        set
        {
            List<Connection> swallowed = [];
            lock (_blackHoleLock)
            {
                var was = _fault;
                _fault = value;
                if (was == Fault.BlackHole && value != Fault.BlackHole)
                {
                    swallowed = [.. _open.Keys.Where(c => c.LostBytes)];
                }
            }

            foreach (var connection in swallowed)
            {
                Reset(connection);
            }
        }
    }

    private volatile Fault _fault;

    // Swallowing bytes and healing the black hole exclude each other: without it, bytes swallowed just as the fault was
    // lifted could escape the heal's reset and leave the connection desynchronised for its next request (a candidate
    // cause of ci61's one failure: after the heal one node's refresh failed at once and its 20 storm requests got 503).
    private readonly Lock _blackHoleLock = new();
    private readonly ConcurrentDictionary<Connection, byte> _open = new();

    public TimeSpan Latency { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How many requests are held (<see cref="Fault.Hold"/>) right now.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>How many requests the server received through this proxy and answered to a reset client.</summary>
    public int ResetAfterSendCount => Volatile.Read(ref _resets);

    private int _resets;

    /// <summary>Listens on <paramref name="port"/> (0: any free port) and forwards to 127.0.0.1:<paramref name="targetPort"/>.</summary>
    public static FaultProxy Start(int targetPort, int port = 0) => new(port, targetPort);

    /// <summary>Delivers every held request to the server (later holds wait for the next release).</summary>
    public void ReleaseHeld()
    {
        Interlocked.Exchange(ref _release, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        while (_heldInOrder.TryDequeue(out var held))
        {
            held.TrySetResult();
        }
    }

    /// <summary>
    /// Delivers only the request held longest; the others stay held. Two requests held at once would otherwise reach the
    /// server in an order nobody chose (a refresh and a revocation of the same grant, say).
    /// </summary>
    public void ReleaseOldestHeld()
    {
        while (_heldInOrder.TryDequeue(out var held))
        {
            if (held.TrySetResult())
            {
                return;
            }
        }
    }

    /// <summary>Waits until <paramref name="count"/> requests are held, so a test knows the client has sent them.</summary>
    public Task WaitUntilHeldAsync(int count = 1) =>
        Eventually.Until(() => Task.FromResult(Held), held => held >= count, $"{count} held request(s) at the fault proxy");

    /// <summary>Stops the proxy: its connections are closed and new ones refused, as when the server's host goes away.
    /// A test may do this mid-way; a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        _listener.Stop();
        ReleaseHeld();
        try
        {
            await _acceptLoop;
        }
        catch (Exception)
        {
            // Stopping: whatever the loop was doing no longer matters.
        }

        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections.Select(c => c.ContinueWith(_ => { }, TaskScheduler.Default)));
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var connection = HandleAsync(client);
            lock (_connections)
            {
                _connections.RemoveAll(c => c.IsCompleted);
                _connections.Add(connection);
            }
        }
    }

    /// <summary>
    /// One client connection. The fault is looked up for every chunk, not once per connection, because HTTP clients
    /// keep connections alive: the gateway's token request travels on the connection its discovery opened.
    /// </summary>
    private async Task HandleAsync(TcpClient client)
    {
        using var _ = client;
        var token = _stop.Token;
        using var server = new TcpClient();
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _targetPort, token);
        }
        catch (SocketException)
        {
            return; // the server is down: the client sees its connection closed
        }

        var connection = new Connection(client, client.GetStream(), server.GetStream());
        _open[connection] = 0;
        try
        {
            var upstream = ForwardRequestsAsync(connection, token);
            var downstream = ForwardAnswersAsync(connection, token);
            if (await Task.WhenAny(upstream, downstream) == upstream)
            {
                // The client is gone or done; a request delivered late is still answered by the server, and read here.
                await Task.WhenAny(downstream, Task.Delay(TimeSpan.FromSeconds(5), token)).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
        finally
        {
            _open.TryRemove(connection, out var _);
        }
    }

    private async Task ForwardRequestsAsync(Connection connection, CancellationToken token)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await connection.FromClient.ReadAsync(buffer, token);
                if (read == 0)
                {
                    return;
                }

                if (Swallows(connection))
                {
                    continue; // swallowed: the client waits for an answer that never comes
                }

                switch (Fault)
                {
                    case Fault.Latency:
                        await Task.Delay(Latency, token);
                        break;
                    case Fault.Hold:
                        var release = Volatile.Read(ref _release).Task;
                        var releasedAlone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        _heldInOrder.Enqueue(releasedAlone);
                        Interlocked.Increment(ref _held);
                        try
                        {
                            await Task.WhenAny(release, releasedAlone.Task).WaitAsync(token);
                        }
                        finally
                        {
                            releasedAlone.TrySetResult(); // delivered: ReleaseOldestHeld passes over it
                            Interlocked.Decrement(ref _held);
                        }

                        break;
                    case Fault.ResetAfterSend:
                        connection.ResetOnAnswer = true;
                        break;
                }

                await connection.ToServer.WriteAsync(buffer.AsMemory(0, read), token);
            }
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            // The client went away.
        }
    }

    private async Task ForwardAnswersAsync(Connection connection, CancellationToken token)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await connection.ToServer.ReadAsync(buffer, token);
                if (read == 0)
                {
                    return;
                }

                if (connection.ResetOnAnswer)
                {
                    // The server has handled the request and started answering: the client gets a reset instead.
                    Interlocked.Increment(ref _resets);
                    Reset(connection);
                    await DrainAsync(connection.ToServer, token, TimeSpan.FromSeconds(2));
                    return;
                }

                if (Fault == Fault.Latency)
                {
                    await Task.Delay(Latency, token);
                }

                await connection.FromClient.WriteAsync(buffer.AsMemory(0, read), token);
            }
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            // Either side went away.
        }
    }

    /// <summary>Closes the client's side with RST (linger 0), not FIN: the client sees a connection reset.</summary>
    /// <summary>Whether the black hole takes these bytes; if so the connection is marked for the heal's reset, atomically.</summary>
    private bool Swallows(Connection connection)
    {
        lock (_blackHoleLock)
        {
            if (_fault != Fault.BlackHole)
            {
                return false;
            }

            connection.LostBytes = true;
            return true;
        }
    }

    private static void Reset(Connection connection)
    {
        try
        {
            connection.Client.Client.LingerState = new LingerOption(true, 0);
            connection.Client.Client.Close();
        }
        catch (Exception exception) when (exception is ObjectDisposedException or SocketException)
        {
            // Already closed.
        }
    }

    private sealed class Connection(TcpClient client, NetworkStream fromClient, NetworkStream toServer)
    {
        public TcpClient Client { get; } = client;

        public NetworkStream FromClient { get; } = fromClient;

        public NetworkStream ToServer { get; } = toServer;

        public volatile bool ResetOnAnswer;

        /// <summary>A black hole swallowed some of the client's bytes: the connection cannot go on after it clears.</summary>
        public volatile bool LostBytes;
    }

    private static async Task DrainAsync(NetworkStream stream, CancellationToken token, TimeSpan? idle = null)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                if (idle is { } limit)
                {
                    timeout.CancelAfter(limit);
                }

                if (await stream.ReadAsync(buffer, timeout.Token) == 0)
                {
                    return;
                }
            }
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
        }
    }
}
