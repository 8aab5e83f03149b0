using System.Reflection;
using Microsoft.Extensions.Logging;
using Portcullis.Configuration;

namespace Portcullis.Storage;

/// <summary>
/// The store of <c>Session:Mode</c> <c>stateless</c> (ADR 0033): there is none. Start-up migration, readiness and the
/// periodic sweep have nothing to do; audit entries go to the log (event 6003) since there is no table to keep them
/// in; anything else that reaches for the store is a feature that needs server state, and fails loudly here instead of
/// writing a file nobody asked for. Those features are refused at start-up or answer 400 before they get this far.
/// </summary>
internal class NoStore : DispatchProxy
{
    private ILogger _logger = null!;

    public static IPortcullisStore Create(ILogger logger)
    {
        var store = DispatchProxy.Create<IPortcullisStore, NoStore>();
        ((NoStore)(object)store)._logger = logger;
        return store;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
    {
        nameof(IStoreLifecycle.InitializeAsync) => Task.CompletedTask,
        nameof(IStoreLifecycle.IsHealthyAsync) => Task.FromResult(true),
        nameof(IStoreLifecycle.DeleteExpiredAsync) => Task.FromResult(new ExpiredSweep(0, 0, 0)),
        nameof(IAuditStore.AppendAuditAsync) => Audit((AuditRecord)args![0]!),
        nameof(IAuditStore.QueryAuditAsync) => Task.FromResult<IReadOnlyList<AuditRecord>>([]),
        _ => throw new InvalidOperationException(
            $"{PortcullisOptions.SectionName}:Session:Mode is 'stateless': there is no store for {targetMethod?.DeclaringType?.Name}.{targetMethod?.Name}."),
    };

    private Task Audit(AuditRecord entry)
    {
        Diagnostics.Log.StatelessAudit(_logger, entry.Event, entry.Outcome, entry.UserId, entry.Provider, entry.Actor, entry.Detail);
        return Task.CompletedTask;
    }
}
