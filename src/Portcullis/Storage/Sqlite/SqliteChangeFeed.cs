using Microsoft.Data.Sqlite;

namespace Portcullis.Storage.Sqlite;

/// <summary>
/// SQLite's change feed (ADR 0040). Within one process every write passes through the session cache, which drops its
/// copies itself, so announcing is a no-op. But several processes may share one file (a second gateway on the same
/// machine, an administration command): a dedicated connection polls <c>PRAGMA data_version</c>, which moves whenever
/// another connection commits, and any move drops every copy. Commits of this process move it too; that costs re-reads,
/// never correctness.
/// </summary>
internal sealed class SqliteChangeFeed(string connectionString) : IStoreChangeFeed
{
    // Real time, not the injected clock: the poll watches other processes' commits, which a test's fake clock does not move.
    private static readonly TimeProvider Time = TimeProvider.System;

    /// <summary>How often the file is checked: a change made by another process is seen within about this long.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public void Start(IStoreChangeObserver observer) => _loop = Task.Run(() => RunAsync(observer, _stop.Token));

    public Task PublishAsync(string change, CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private async Task RunAsync(IStoreChangeObserver observer, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString());
                await connection.OpenAsync(cancellationToken);
                await using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA data_version;";
                var seen = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
                observer.Listening();
                while (true)
                {
                    await Task.Delay(PollInterval, Time, cancellationToken);
                    var version = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
                    if (version != seen)
                    {
                        seen = version;
                        observer.Changed(SessionChange.Everything);
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
                    await Task.Delay(TimeSpan.FromSeconds(1), Time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
