using Portcullis.Storage;

namespace Portcullis.Tests.Storage.Contracts;

/// <summary>The contract of single-use, browser-bound login transactions (<see cref="ILoginTransactionStore"/>).</summary>
public abstract class LoginTransactionStoreContractTests<TStore> : StoreContractTests<TStore>
    where TStore : class, IStoreLifecycle, ILoginTransactionStore
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    [Fact]
    public async Task LoginTransactionsAreTakenOnceWithTheirBindingBeforeTheyExpire()
    {
        var transaction = new LoginTransactionRecord("t1", "browser-1", [1, 2], Now + TimeSpan.FromMinutes(10));
        await Store.SaveLoginTransactionAsync(transaction, 5, Now, default);

        Assert.Null(await Store.TakeLoginTransactionAsync("t1", "browser-2", Now, default)); // another browser
        Assert.Null(await Store.TakeLoginTransactionAsync("t1", "browser-1", Now + TimeSpan.FromMinutes(10), default)); // expired
        var taken = await Store.TakeLoginTransactionAsync("t1", "browser-1", Now, default);
        Assert.NotNull(taken);
        Assert.Equal(transaction.ExpiresAt, taken.ExpiresAt);
        Assert.Equal(transaction.Data, taken.Data);
        Assert.Equal("browser-1", taken.BindingHash);
        Assert.Null(await Store.TakeLoginTransactionAsync("t1", "browser-1", Now, default)); // single use
    }

    [Fact]
    public async Task OnlyTheNewestLoginTransactionsOfABrowserAreKept()
    {
        for (var i = 0; i < 5; i++)
        {
            await Store.SaveLoginTransactionAsync(new LoginTransactionRecord($"t{i}", "browser-1", [1], Now + Hour), 3, Now + TimeSpan.FromSeconds(i), default);
        }

        await Store.SaveLoginTransactionAsync(new LoginTransactionRecord("other", "browser-2", [1], Now + Hour), 3, Now, default);
        var kept = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            if (await Store.TakeLoginTransactionAsync($"t{i}", "browser-1", Now, default) is not null)
            {
                kept.Add($"t{i}");
            }
        }

        Assert.Equal(["t2", "t3", "t4"], kept);
        Assert.NotNull(await Store.TakeLoginTransactionAsync("other", "browser-2", Now, default));
    }

    [Fact]
    public async Task ConcurrentCallbacksWithTheSameStateTakeTheTransactionOnce()
    {
        await Store.SaveLoginTransactionAsync(new LoginTransactionRecord("t1", "b", [1], Now + Hour), 5, Now, default);
        var taken = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => Task.Run(() => Store.TakeLoginTransactionAsync("t1", "b", Now, default))));
        Assert.Single(taken.OfType<LoginTransactionRecord>());
    }
}
