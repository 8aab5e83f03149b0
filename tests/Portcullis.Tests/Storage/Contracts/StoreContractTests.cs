using Portcullis.Storage;

namespace Portcullis.Tests.Storage.Contracts;

/// <summary>
/// The ground every entity contract suite stands on: a fresh, initialised store per test. Each entity interface has one
/// abstract suite (the <c>*ContractTests</c> beside this file) that names the interfaces it needs as constraints on
/// <typeparamref name="TStore"/>, and each backend subclasses every suite it implements (one file per backend), so a new
/// backend can be proven entity by entity. Times are based on the real clock, since Redis' TTLs follow it.
/// </summary>
public abstract class StoreContractTests<TStore> : IAsyncLifetime
    where TStore : class, IStoreLifecycle
{
    private readonly List<Action> _cleanups = [];

    protected TStore Store { get; private set; } = null!;

    protected DateTimeOffset Now { get; } = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    protected abstract Task<TStore> CreateStoreAsync();

    /// <summary>Runs <paramref name="cleanup"/> after the store is disposed (e.g. deleting a SQLite file's folder).</summary>
    protected void AfterDispose(Action cleanup) => _cleanups.Add(cleanup);

    public async Task InitializeAsync()
    {
        Store = await CreateStoreAsync();
        await Store.InitializeAsync(CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        (Store as IDisposable)?.Dispose();
        _cleanups.ForEach(cleanup => cleanup());
        return Task.CompletedTask;
    }

    protected SessionRecord NewSession(
        string key, string user, string grant, DateTimeOffset idle, DateTimeOffset absolute, string? sid = null, string provider = "main", DateTimeOffset? created = null) =>
        new(key, "handle-" + key, user, grant, provider, sid, [7, 8, 9], created ?? Now, created ?? Now, idle, absolute);

    protected static void AssertGrant(GrantRecord expected, GrantRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { Tokens = [] }, actual with { Tokens = [] });
        Assert.Equal(expected.Tokens, actual.Tokens);
    }

    protected static void AssertSession(SessionRecord expected, SessionRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { Data = [] }, actual with { Data = [] });
        Assert.Equal(expected.Data, actual.Data);
    }
}
