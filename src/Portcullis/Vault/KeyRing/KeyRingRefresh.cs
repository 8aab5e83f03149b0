
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Primitives;
using Portcullis.Storage;

namespace Portcullis.Vault.KeyRing;

/// <summary>
/// Tells Data Protection to reload the key ring. Data Protection caches the ring for up to a day and only reloads early
/// when this process itself adds a key; with several nodes (and the <c>rotate-keys</c> command) keys appear from
/// outside, so the cache's expiration token is linked to this signal.
/// </summary>
internal sealed class KeyRingChangeSignal(TimeProvider time)
{
    private static readonly TimeSpan MinimumGap = TimeSpan.FromSeconds(1);

    private CancellationTokenSource _source = new();
    private DateTimeOffset _lastTrigger = DateTimeOffset.MinValue;

    public CancellationToken Token => Volatile.Read(ref _source).Token;

    public void Trigger()
    {
        lock (this)
        {
            _lastTrigger = time.GetUtcNow();
            var previous = _source;
            _source = new CancellationTokenSource();
            previous.Cancel();
        }
    }

    /// <summary>
    /// Triggers unless it did so very recently; false then. A ciphertext under an unknown key asks for this, and a
    /// flood of forged ciphertexts must not turn into a flood of key-ring reads.
    /// </summary>
    public bool TryTrigger()
    {
        lock (this)
        {
            if (time.GetUtcNow() - _lastTrigger < MinimumGap)
            {
                return false;
            }

            Trigger();
            return true;
        }
    }
}

/// <summary>Data Protection's key manager, with a cache expiration that also fires on <see cref="KeyRingChangeSignal"/>.</summary>
internal sealed class SharedKeyRingManager(IKeyManager inner, KeyRingChangeSignal signal) : IKeyManager
{
    public IKey CreateNewKey(DateTimeOffset activationDate, DateTimeOffset expirationDate) => inner.CreateNewKey(activationDate, expirationDate);

    public IReadOnlyCollection<IKey> GetAllKeys() => inner.GetAllKeys();

    public CancellationToken GetCacheExpirationToken() =>
        CancellationTokenSource.CreateLinkedTokenSource(inner.GetCacheExpirationToken(), signal.Token).Token;

    public void RevokeKey(Guid keyId, string? reason = null) => inner.RevokeKey(keyId, reason);

    public void RevokeAllKeys(DateTimeOffset revocationDate, string? reason = null) => inner.RevokeAllKeys(revocationDate, reason);
}

/// <summary>Polls the shared key ring (a count, one cheap query) and signals a reload when another node or a command added a key.</summary>
internal sealed class KeyRingWatcher(
    IOptions<KeyManagementOptions> keyManagement,
    KeyRingChangeSignal signal,
    IOptions<PortcullisOptions> options,
    TimeProvider time,
    ILogger<KeyRingWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (keyManagement.Value.XmlRepository is not ISharedKeyRingRepository repository)
        {
            return;
        }

        int? seen = null;
        var interval = new Interval(options.Value.KeyProtection.RefreshInterval, time);
        while (!stoppingToken.IsCancellationRequested)
        {
            await interval.WaitAsync(stoppingToken);
            try
            {
                var count = await Task.Run(repository.Count, stoppingToken);
                if (seen is { } previous && previous != count)
                {
                    Diagnostics.Log.KeyRingChanged(logger);
                    signal.Trigger();
                }

                seen = count;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                Diagnostics.Log.KeyRingWatchFailed(logger, exception.GetType().Name);
            }
        }
    }
}

/// <summary>Reads the key id a Data Protection payload was encrypted with (magic header, then the key's GUID).</summary>
internal static class ProtectedPayload
{
    public static Guid? KeyId(byte[] payload) =>
        payload.Length >= 20 && payload[0] == 0x09 && payload[1] == 0xF0 && payload[2] == 0xC9 && payload[3] == 0xF0
            ? new Guid(payload.AsSpan(4, 16))
            : null;
}

