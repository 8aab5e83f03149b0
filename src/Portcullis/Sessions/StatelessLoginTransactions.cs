using Microsoft.AspNetCore.Http;
using Portcullis.Storage;

namespace Portcullis.Sessions;

/// <summary>
/// Where stateless mode keeps a login in progress (ADR 0033): in the browser, one cookie per login named after the
/// hash of its <c>state</c>, sealed with the key ring for that name (the transaction inside is sealed as in the store,
/// bound to the state's hash). It carries the browser binding's hash, so the callback still needs the binding cookie
/// it was started with. The cookie is expired when the callback takes it; a copy replayed later reaches the provider
/// with an authorization code that was already redeemed, which the provider refuses (RFC 6749 §4.1.2).
/// </summary>
/// <remarks>
/// The store interface has no request; the login endpoints bind theirs (<see cref="Bind"/>) around the agent's calls,
/// rather than every request of every mode paying for <c>IHttpContextAccessor</c>.
/// </remarks>
internal sealed class StatelessLoginTransactions(StatelessCookieCodec codec) : ILoginTransactionStore
{
    private static readonly AsyncLocal<HttpContext?> Request = new();

    /// <summary>Makes <paramref name="context"/> the request whose cookies hold login transactions until disposed.</summary>
    public static IDisposable Bind(HttpContext context)
    {
        Request.Value = context;
        return new Unbinding();
    }

    private const string Prefix = "__Host-portcullis-tx-";

    public Task SaveLoginTransactionAsync(LoginTransactionRecord transaction, int maxPerBinding, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var context = Context();
        var name = NameOf(transaction.Key);
        ExpireOldest(context, name);
        // Lax: it must come back on the provider's cross-site redirect to the callback, like the binding cookie.
        codec.Append(context, name, codec.Seal(name, transaction, StatelessJsonContext.Default.LoginTransactionRecord), Options(transaction.ExpiresAt - now));
        return Task.CompletedTask;
    }

    public Task<LoginTransactionRecord?> TakeLoginTransactionAsync(string key, string bindingHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var context = Context();
        var name = NameOf(key);
        var transaction = codec.Open(name, codec.Read(context, name), StatelessJsonContext.Default.LoginTransactionRecord);
        if (transaction is null || transaction.Key != key || transaction.BindingHash != bindingHash || transaction.ExpiresAt <= now)
        {
            return Task.FromResult<LoginTransactionRecord?>(null);
        }

        codec.Delete(context, name, Options(null));
        return Task.FromResult<LoginTransactionRecord?>(transaction);
    }

    /// <summary>
    /// Most login transaction cookies a browser keeps (SECURITY.md item 19; the store's <c>maxPerBinding</c> is for
    /// server rows): parallel logins in a few tabs work, and the largest transaction cookie (about 4.5 KB with a
    /// 2048-character returnUrl) times this stays far from the 8 KB Cookie header many servers and proxies refuse.
    /// </summary>
    public const int MaxCookies = 3;

    /// <summary>Most characters the kept older transaction cookies may add to the Cookie header beside the new one.</summary>
    private const int OlderBudget = 4096;

    /// <summary>
    /// Before a new transaction cookie is written: the request's older ones are expired, oldest (earliest expiry) first,
    /// until at most <see cref="MaxCookies"/> - 1 remain and they total at most <see cref="OlderBudget"/> characters.
    /// The newest login always keeps working; a login abandoned in another tab may have to be started again.
    /// </summary>
    private void ExpireOldest(HttpContext context, string newName)
    {
        var older = context.Request.Cookies
            .Where(cookie => cookie.Key.StartsWith(Prefix, StringComparison.Ordinal) && cookie.Key != newName && IsTransactionName(cookie.Key))
            .Select(cookie => (cookie.Key, Size: Size(context, cookie.Key),
                ExpiresAt: codec.Open(cookie.Key, codec.Read(context, cookie.Key), StatelessJsonContext.Default.LoginTransactionRecord)?.ExpiresAt ?? DateTimeOffset.MinValue))
            .OrderByDescending(cookie => cookie.ExpiresAt)
            .ToList();
        var kept = 0;
        var size = 0;
        foreach (var cookie in older)
        {
            if (cookie.ExpiresAt != DateTimeOffset.MinValue && kept < MaxCookies - 1 && size + cookie.Size <= OlderBudget)
            {
                kept++;
                size += cookie.Size;
                continue;
            }

            codec.Delete(context, cookie.Key, Options(null));
        }
    }

    /// <summary>A transaction cookie's own name, not one of its chunks (<c>nameC1</c>…).</summary>
    private static bool IsTransactionName(string name) => name.Length == Prefix.Length + 16;

    private int Size(HttpContext context, string name) => name.Length + 1 + (codec.Read(context, name)?.Length ?? 0);

    /// <summary>The first 16 characters of the state's hash: parallel logins in several tabs each keep their own cookie.</summary>
    private static string NameOf(string stateHash) => Prefix + stateHash[..16];

    private static HttpContext Context() =>
        Request.Value ?? throw new InvalidOperationException("A stateless login transaction is kept in the request's cookies: no login endpoint bound its request.");

    private sealed class Unbinding : IDisposable
    {
        public void Dispose() => Request.Value = null;
    }

    private static CookieOptions Options(TimeSpan? maxAge) => new()
    {
        HttpOnly = true,
        Secure = true,
        SameSite = SameSiteMode.Lax,
        Path = "/",
        MaxAge = maxAge,
        IsEssential = true,
    };
}
