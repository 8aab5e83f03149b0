namespace Portcullis.Storage;

/// <summary>
/// Makes stateless mode's single-flight refresh cross-node (<c>Portcullis:Session:StatelessRefreshCoordinator</c>, ADR
/// 0033): a lock per refresh token and a short-lived published result, both keyed by the refresh token's hash. It holds
/// only what the core hands it: the hash and an opaque value already sealed with the key ring, never a token in clear.
/// Any exception means "the coordinator cannot be reached": the node falls back to its own single-flight.
/// Portcullis.Storage.Redis provides one (<c>AddRedisRefreshCoordinator</c>).
/// </summary>
public interface IRefreshCoordinator
{
    /// <summary>Why <paramref name="configuration"/> cannot be used, or null when it can. Must not echo a password.</summary>
    string? FindConfigurationProblem(string configuration);

    /// <summary>
    /// Takes the lock for <paramref name="key"/> for at most <paramref name="lifetime"/>; a handle whose disposal
    /// releases it (only if still this holder's), or null when another holder has it.
    /// </summary>
    Task<IAsyncDisposable?> TryLockAsync(string key, TimeSpan lifetime, CancellationToken cancellationToken);

    /// <summary>Publishes the sealed result of the refresh of <paramref name="key"/> for <paramref name="lifetime"/>.</summary>
    Task PublishAsync(string key, string sealedResult, TimeSpan lifetime, CancellationToken cancellationToken);

    /// <summary>The sealed result published for <paramref name="key"/>, or null when there is none (yet, or any more).</summary>
    Task<string?> ReadResultAsync(string key, CancellationToken cancellationToken);
}
