using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Portcullis.Storage;

namespace Portcullis.Tests.Infrastructure;

/// <summary>
/// Holds a login between saving its grant and creating its session, so a test can put something else (a logout on
/// another device) exactly into that window. The store itself stays the real one: only the timing of one call changes.
/// </summary>
public sealed class SessionCreationGate
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>True once the next session creation is to be held.</summary>
    public bool Armed { get; set; }

    /// <summary>Completes when a login has saved its grant and waits to create its session.</summary>
    public Task Reached => _reached.Task;

    public void Release() => _released.TrySetResult();

    /// <summary>Registers the gate in front of the gateway's session store (before the library registers its own).</summary>
    public Action<WebApplicationBuilder> Install() => builder => builder.Services.AddSingleton<ISessionStore>(
        provider => GatedSessionStore.Wrap((ISessionStore)provider.GetRequiredService<IPortcullisStore>(), this));

    internal async Task WaitAsync()
    {
        if (!Armed)
        {
            return;
        }

        Armed = false;
        _reached.TrySetResult();
        await _released.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public class GatedSessionStore : DispatchProxy
    {
        private ISessionStore _inner = null!;
        private SessionCreationGate _gate = null!;

        internal static ISessionStore Wrap(ISessionStore inner, SessionCreationGate gate)
        {
            var proxy = Create<ISessionStore, GatedSessionStore>();
            ((GatedSessionStore)(object)proxy)._inner = inner;
            ((GatedSessionStore)(object)proxy)._gate = gate;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            return targetMethod.Name == nameof(ISessionStore.CreateSessionAsync)
                ? CreateAfterGateAsync(args!)
                : targetMethod.Invoke(_inner, args);
        }

        private async Task CreateAfterGateAsync(object?[] args)
        {
            await _gate.WaitAsync();
            await _inner.CreateSessionAsync((SessionRecord)args[0]!, (CancellationToken)args[1]!);
        }
    }
}
