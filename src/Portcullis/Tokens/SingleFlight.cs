using System.Collections.Concurrent;

namespace Portcullis.Tokens;

/// <summary>
/// Runs at most one piece of work per key at a time inside this process: callers arriving while it runs share its
/// result. Entries are removed when the work ends, so the map holds only work in flight.
/// </summary>
internal sealed class SingleFlight<T>
{
    private readonly ConcurrentDictionary<string, Task<T>> _inFlight = new(StringComparer.Ordinal);

    public Task<T> RunAsync(string key, Func<Task<T>> work)
    {
        while (true)
        {
            if (_inFlight.TryGetValue(key, out var running))
            {
                return running;
            }

            var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_inFlight.TryAdd(key, completion.Task))
            {
                _ = RunAndCompleteAsync(key, work, completion);
                return completion.Task;
            }
        }
    }

    /// <summary>How many keys have work in flight (for tests of the map's upkeep).</summary>
    public int Count => _inFlight.Count;

    private async Task RunAndCompleteAsync(string key, Func<Task<T>> work, TaskCompletionSource<T> completion)
    {
        try
        {
            completion.SetResult(await work());
        }
        catch (Exception exception)
        {
            completion.SetException(exception);
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, Task<T>>(key, completion.Task));
        }
    }
}
