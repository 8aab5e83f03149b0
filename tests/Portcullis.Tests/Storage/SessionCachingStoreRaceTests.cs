using System.Reflection;
using Portcullis.Storage;
using Portcullis.Storage.Sqlite;

namespace Portcullis.Tests.Storage;

/// <summary>
/// The session cache against a real SQLite store, with one read held back after it has read the store: the interleaving
/// a logout on a busy node produces, made deterministic. A read that fetched a session before it was deleted may still
/// answer its own request, but must never leave that session in the cache for the next one.
/// </summary>
public sealed class SessionCachingStoreRaceTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly string _directory = Directory.CreateTempSubdirectory("portcullis-cache-race-").FullName;

    [Theory]
    [InlineData("logout")]
    [InlineData("logout everywhere")]
    [InlineData("grant ended")]
    public async Task AReadInFlightDuringAnEndingWriteDoesNotPutTheEndedSessionBack(string write)
    {
        var backend = new SqliteStore($"Data Source={Path.Combine(_directory, "store.db")}");
        await backend.InitializeAsync(default);
        var user = await backend.GetOrCreateUserAsync("main", "alice", Now, default);
        await backend.SaveGrantAsync(new GrantRecord("g1", user.Id, "main", [1], Now.AddHours(1), 1, Now, true), 0, default);
        await backend.CreateSessionAsync(new SessionRecord("k1", "h1", user.Id, "g1", "main", null, [2], Now, Now, Now.AddHours(1), Now.AddHours(2)), default);
        var held = HeldReads.Wrap(backend);
        using var cache = new SessionCachingStore(held, TimeSpan.FromMinutes(1), 1_000, null, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        var gate = HeldReads.Hold(held);
        var inFlight = cache.GetSessionAndGrantAsync("k1", Now, default);
        await gate.StoreWasRead;
        Task ending = write switch
        {
            "logout" => cache.DeleteSessionAsync("k1", default),
            "logout everywhere" => cache.DeleteSessionsForUserAsync(user.Id, null, default),
            _ => cache.DeleteSessionsForGrantAsync("g1", default),
        };
        await ending;
        gate.Release();

        Assert.NotNull(await inFlight); // it read before the write: its own request may still use it
        Assert.Null(await cache.GetSessionAndGrantAsync("k1", Now, default));
        Assert.Null(await cache.GetSessionAndGrantAsync("k1", Now, default));
    }

    [Fact]
    public async Task WithoutARacingWriteTheCacheAnswersWithoutTheStore()
    {
        var backend = new SqliteStore($"Data Source={Path.Combine(_directory, "store.db")}");
        await backend.InitializeAsync(default);
        var user = await backend.GetOrCreateUserAsync("main", "alice", Now, default);
        await backend.SaveGrantAsync(new GrantRecord("g1", user.Id, "main", [1], Now.AddHours(1), 1, Now, true), 0, default);
        await backend.CreateSessionAsync(new SessionRecord("k1", "h1", user.Id, "g1", "main", null, [2], Now, Now, Now.AddHours(1), Now.AddHours(2)), default);
        using var cache = new SessionCachingStore(backend, TimeSpan.FromMinutes(1), 1_000, null, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.NotNull(await cache.GetSessionAndGrantAsync("k1", Now, default));

        // Deleted behind the cache's back (another node): the copy answers until it is too old.
        await backend.DeleteSessionAsync("k1", default);
        Assert.NotNull(await cache.GetSessionAndGrantAsync("k1", Now, default));
        // An expired copy is never served, however fresh the copy is.
        Assert.Null(await cache.GetSessionAndGrantAsync("k1", Now.AddHours(3), default));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Forwards every call to the real store; an armed gate holds the next session read after the store answered it.</summary>
    public class HeldReads : DispatchProxy
    {
        private IPortcullisStore _target = null!;
        private Gate? _gate;

        public static IPortcullisStore Wrap(IPortcullisStore target)
        {
            var proxy = Create<IPortcullisStore, HeldReads>();
            ((HeldReads)(object)proxy)._target = target;
            return proxy;
        }

        public static Gate Hold(IPortcullisStore proxy) => ((HeldReads)(object)proxy)._gate = new Gate();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            var result = targetMethod!.Invoke(_target, args);
            if (targetMethod.Name == nameof(IPortcullisStore.GetSessionAndGrantAsync) && Interlocked.Exchange(ref _gate, null) is { } gate)
            {
                return HoldAsync((Task<SessionAndGrant?>)result!, gate);
            }

            return result;
        }

        private static async Task<SessionAndGrant?> HoldAsync(Task<SessionAndGrant?> read, Gate gate)
        {
            var value = await read;
            gate.Read.SetResult();
            await gate.Released.Task;
            return value;
        }
    }

    public sealed class Gate
    {
        public TaskCompletionSource Read { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task StoreWasRead => Read.Task;

        public void Release() => Released.SetResult();
    }
}
