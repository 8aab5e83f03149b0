using Npgsql;

namespace Portcullis.Storage.PostgreSql;

/// <summary>
/// PostgreSQL's change feed (ADR 0040): one dedicated connection per node runs <c>LISTEN</c>; announcements are
/// <c>pg_notify</c> on a pooled connection after the write committed. A terminated backend, a restarted server or a
/// cut connection ends the wait with an error; a silent partition is caught by a heartbeat query after two quiet seconds (then within its command timeout). Either way the node
/// is told <see cref="IStoreChangeObserver.Lost"/> at once and <see cref="IStoreChangeObserver.Listening"/> only after
/// a new connection has run <c>LISTEN</c> again.
/// </summary>
internal sealed class PostgresChangeFeed(NpgsqlDataSource publisher, string connectionString) : IStoreChangeFeed
{
    /// <summary>The channel name; every node sharing the database listens on it.</summary>
    public const string Channel = "portcullis_changes";

    /// <summary>How the listening connection shows in <c>pg_stat_activity</c> (tests end it there; operators can see it).</summary>
    public const string ApplicationName = "portcullis-changes";

    // Real time, not the injected clock: heartbeats and reconnects are about the network, which a fake clock does not move.
    private static readonly TimeProvider Time = TimeProvider.System;
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Reconnect = TimeSpan.FromMilliseconds(250);

    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public void Start(IStoreChangeObserver observer) => _loop = Task.Run(() => RunAsync(observer, _stop.Token));

    public async Task PublishAsync(string change, CancellationToken cancellationToken)
    {
        await using var command = publisher.CreateCommand("SELECT pg_notify(@channel, @change);");
        command.Parameters.AddWithValue("channel", Channel);
        command.Parameters.AddWithValue("change", change);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private async Task RunAsync(IStoreChangeObserver observer, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, ApplicationName = ApplicationName };
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                await connection.OpenAsync(cancellationToken);
                connection.Notification += (_, notification) => observer.Changed(notification.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel};", connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken);
                }

                observer.Listening();
                while (true)
                {
                    if (!await connection.WaitAsync(Heartbeat, cancellationToken))
                    {
                        // Nothing for a while: a query proves the connection is still alive (a silent partition fails it).
                        await using var ping = new NpgsqlCommand("SELECT 1;", connection);
                        await ping.ExecuteNonQueryAsync(cancellationToken);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                observer.Lost(exception);
                try
                {
                    await Task.Delay(Reconnect, Time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
