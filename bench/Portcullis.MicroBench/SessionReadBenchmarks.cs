using BenchmarkDotNet.Attributes;
using Npgsql;
using Portcullis.Storage;
using Portcullis.Storage.PostgreSql;
using Portcullis.Storage.Redis;
using Portcullis.Storage.Sqlite;

namespace Portcullis.MicroBench;

/// <summary>
/// What every authenticated API call asks the store: its session and the session's grant — as two reads (how the proxy
/// did it before) and as the one-round-trip read it uses now. SQLite always; PostgreSQL and Redis when
/// <c>PORTCULLIS_TEST_POSTGRES</c> / <c>PORTCULLIS_TEST_REDIS</c> name servers (bench/micro.sh starts throwaway ones).
/// </summary>
[MemoryDiagnoser]
public class SessionReadBenchmarks
{
    private const string SessionKey = "session-key-hash";
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;
    private IPortcullisStore _store = null!;
    private string _directory = null!;

    [ParamsSource(nameof(Stores))]
    public string Store { get; set; } = "sqlite";

    public static IEnumerable<string> Stores()
    {
        yield return "sqlite";
        if (Environment.GetEnvironmentVariable("PORTCULLIS_TEST_POSTGRES") is { Length: > 0 })
        {
            yield return "postgres";
        }

        if (Environment.GetEnvironmentVariable("PORTCULLIS_TEST_REDIS") is { Length: > 0 })
        {
            yield return "redis";
        }
    }

    [GlobalSetup]
    public async Task SetUpAsync()
    {
        _directory = Directory.CreateTempSubdirectory("portcullis-microbench-").FullName;
        _store = Store switch
        {
            "postgres" => new PostgresStore(NpgsqlDataSource.Create(PostgresConnectionStrings.WithAutoPrepare(Environment.GetEnvironmentVariable("PORTCULLIS_TEST_POSTGRES")!))),
            "redis" => new RedisStore(Environment.GetEnvironmentVariable("PORTCULLIS_TEST_REDIS")!, $"microbench-{Guid.NewGuid():N}:"),
            _ => new SqliteStore($"Data Source={Path.Combine(_directory, "store.db")}"),
        };
        await _store.InitializeAsync(CancellationToken.None);

        // A realistic row: a user, a grant with a few hundred bytes of ciphertext, and a session using it.
        var user = await _store.GetOrCreateUserAsync("main", $"alice-{Guid.NewGuid():N}", _now, CancellationToken.None);
        var grantId = Guid.NewGuid().ToString("N");
        var key = SessionKey + Guid.NewGuid().ToString("N");
        await _store.SaveGrantAsync(new GrantRecord(grantId, user.Id, "main", new byte[600], _now.AddHours(1), 1, _now, true), 0, CancellationToken.None);
        await _store.CreateSessionAsync(
            new SessionRecord(key, Guid.NewGuid().ToString("N"), user.Id, grantId, "main", "sid", new byte[400], _now, _now, _now.AddHours(1), _now.AddHours(8)),
            CancellationToken.None);
        _key = key;
    }

    private string _key = null!;

    [GlobalCleanup]
    public void CleanUp()
    {
        (_store as IDisposable)?.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "session, then grant (two reads)")]
    public async Task<GrantRecord?> TwoReads()
    {
        var session = await _store.GetSessionAsync(_key, _now, CancellationToken.None);
        return await _store.GetGrantAsync(session!.GrantId, CancellationToken.None);
    }

    [Benchmark(Description = "session with grant (one read)")]
    public async Task<GrantRecord?> OneRead() => (await _store.GetSessionAndGrantAsync(_key, _now, CancellationToken.None))!.Grant;
}
