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
