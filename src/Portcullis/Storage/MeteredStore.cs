using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Text;
using Portcullis.Diagnostics;

namespace Portcullis.Storage;

/// <summary>
/// Times every call to the store backend (<c>portcullis.store.operation.duration</c>, <c>operation</c> = the method's
/// name in snake case, <c>store</c> = the backend's kind) and wraps it in a span when someone listens. A dispatch proxy
/// rather than a hand-written decorator: the store has some forty members, and a decorator would have to be kept in
/// step with every one of them by hand (ADR 0025). The call itself is untouched: the task returned is the backend's own.
/// </summary>
internal class MeteredStore : DispatchProxy
{
    private static readonly ConcurrentDictionary<MethodInfo, string> OperationNames = new();

    private IPortcullisStore _inner = null!;
    private string _kind = null!;
    private PortcullisMetrics _metrics = null!;
    private TimeProvider _time = null!;

    /// <summary>The backend behind this proxy.</summary>
    public IPortcullisStore Inner => _inner;

    public static IPortcullisStore Wrap(IPortcullisStore inner, string kind, PortcullisMetrics metrics, TimeProvider time)
    {
        var proxy = Create<IPortcullisStore, MeteredStore>();
        var metered = (MeteredStore)(object)proxy;
        (metered._inner, metered._kind, metered._metrics, metered._time) = (inner, kind, metrics, time);
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        var operation = OperationNames.GetOrAdd(targetMethod, static method => SnakeCase(method.Name));
        var caller = Activity.Current;
        var activity = PortcullisTelemetry.Source.StartActivity($"store {operation}", ActivityKind.Client);
        activity?.SetTag("db.system.name", _kind);
        activity?.SetTag("db.operation.name", operation);
        var started = _time.GetTimestamp();
        object? result;
        try
        {
            result = targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException exception) when (exception.InnerException is { } inner)
        {
            Complete(operation, started, activity, inner);
            ExceptionDispatchInfo.Throw(inner);
            throw;
        }
        finally
        {
            // The backend's method has captured the span as its current one; the caller goes on under its own, so
            // what it does next is not filed under this store call.
            if (activity is not null)
            {
                Activity.Current = caller;
            }
        }

        if (result is Task task && !task.IsCompleted)
        {
            task.ContinueWith(
                static (done, state) =>
                {
                    var (self, operation, started, activity) = ((MeteredStore, string, long, Activity?))state!;
                    self.Complete(operation, started, activity, done.Exception?.InnerException);
                },
                (this, operation, started, activity),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
        else
        {
            Complete(operation, started, activity, (result as Task)?.Exception?.InnerException);
        }

        return result;
    }

    private void Complete(string operation, long started, Activity? activity, Exception? failure)
    {
        _metrics.StoreOperationCompleted(operation, _kind, _time.GetElapsedTime(started));
        if (activity is not null)
        {
            if (failure is not null)
            {
                // The type only: a store exception's message can carry a connection string or a key.
                activity.SetStatus(ActivityStatusCode.Error, failure.GetType().Name);
            }

            activity.Dispose();
        }
    }

    /// <summary><c>GetSessionAndGrantAsync</c> → <c>get_session_and_grant</c>.</summary>
    private static string SnakeCase(string methodName)
    {
        var name = methodName.EndsWith("Async", StringComparison.Ordinal) ? methodName[..^5] : methodName;
        var builder = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                builder.Append('_');
            }

            builder.Append(char.ToLowerInvariant(name[i]));
        }

        return builder.ToString();
    }
}
