using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Portcullis.Storage.Sqlite;

/// <summary>
/// One hot statement kept compiled on a few dedicated connections, so running it costs a bind and a step rather than a
/// parse and plan every time: Microsoft.Data.Sqlite discards prepared statements whenever a pooled connection is closed.
/// The connections stay in autocommit mode, so each execution sees the latest committed data, as a fresh connection would.
/// </summary>
internal sealed class PreparedStatementPool(string connectionString, string sql, params string[] parameterNames) : IDisposable
{
    // More idle statements than threads that can run one at a time would only hold file handles.
    private static readonly int MaxIdle = Math.Max(4, Environment.ProcessorCount * 2);

    private readonly ConcurrentBag<SqliteCommand> _idle = [];

    // Counted apart: ConcurrentBag.Count takes every per-thread list's lock, which would be paid on every read.
    private int _idleCount;
    private volatile bool _disposed;

    /// <summary>Runs the statement with <paramref name="values"/> (in the order of the parameter names) and reads its result.</summary>
    public T Execute<T>(Func<SqliteDataReader, T> read, params object[] values)
    {
        var command = TryTakeIdle() ?? Create();
        try
        {
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters[i].Value = values[i];
            }

            T result;
            using (var reader = command.ExecuteReader())
            {
                result = read(reader);
            }

            Return(command);
            return result;
        }
        catch
        {
            // A statement that failed (store restarted, file replaced) is not trusted again.
            Discard(command);
            throw;
        }
    }

    public void Dispose()
    {
        _disposed = true;
        DiscardIdle();
    }

    private SqliteCommand? TryTakeIdle()
    {
        if (!_idle.TryTake(out var command))
        {
            return null;
        }

        Interlocked.Decrement(ref _idleCount);
        return command;
    }

    private SqliteCommand Create()
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in parameterNames)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            command.Prepare();
            return command;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void Return(SqliteCommand command)
    {
        if (_disposed)
        {
            Discard(command);
            return;
        }

        if (Interlocked.Increment(ref _idleCount) > MaxIdle)
        {
            Interlocked.Decrement(ref _idleCount);
            Discard(command);
            return;
        }

        _idle.Add(command);
        if (_disposed)
        {
            // Disposed while this command was being returned: nobody else will empty the bag now.
            DiscardIdle();
        }
    }

    private void DiscardIdle()
    {
        while (TryTakeIdle() is { } command)
        {
            Discard(command);
        }
    }

    private static void Discard(SqliteCommand command)
    {
        var connection = command.Connection;
        command.Dispose();
        connection?.Dispose();
    }
}
