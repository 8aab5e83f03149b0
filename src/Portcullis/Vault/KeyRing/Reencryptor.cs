using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using Portcullis.Storage;

namespace Portcullis.Vault.KeyRing;

/// <summary>What one <c>reencrypt</c> run did: values moved to the current key, already on it, rewritten meanwhile, unreadable.</summary>
public sealed record ReencryptionReport(int Reencrypted, int AlreadyCurrent, int ChangedMeanwhile, int Unreadable);

/// <summary>
/// Re-encrypts every stored ciphertext that is not under the current default key (after <c>rotate-keys</c>), so an old
/// key can eventually be retired. Each value is decrypted and encrypted again with the same purpose and record binding,
/// and written only if the row still holds what was read. Nobody is logged out: old keys stay in the ring.
/// </summary>
internal sealed class Reencryptor(IPortcullisStore store, IDataProtectionProvider dataProtection, ILogger<Reencryptor> logger)
{
    private const string ProbePurpose = "Portcullis.KeyRing.CurrentKeyProbe.v1";

    /// <summary>The key new ciphertexts are written with, read off a fresh one.</summary>
    public Guid CurrentKeyId() => ProtectedPayload.KeyId(dataProtection.CreateProtector(ProbePurpose).Protect([0]))!.Value;

    public async Task<ReencryptionReport> RunAsync(CancellationToken cancellationToken)
    {
        var records = StoreRegistration.Backend(store) as IProtectedRecordStore
            ?? throw new InvalidOperationException($"The store {store.GetType().Name} does not support re-encryption.");
        var current = CurrentKeyId();
        var (reencrypted, current_, changed, unreadable) = (0, 0, 0, 0);
        foreach (var kind in Enum.GetValues<ProtectedKind>())
        {
            var done = 0;
            await foreach (var value in records.ReadProtectedAsync(kind, cancellationToken))
            {
                if (ProtectedPayload.KeyId(value.Ciphertext) == current)
                {
                    current_++;
                    continue;
                }

                var protector = dataProtection.CreateProtector(Purpose(kind)).CreateProtector(value.RecordKey);
                byte[] plaintext;
                try
                {
                    plaintext = protector.Unprotect(value.Ciphertext);
                }
                catch (CryptographicException)
                {
                    unreadable++; // tampered or under a deleted key: left as it is, and refused when used
                    continue;
                }

                var replacement = protector.Protect(plaintext);
                CryptographicOperations.ZeroMemory(plaintext);
                if (await records.ReplaceProtectedAsync(kind, value.RecordKey, value.Ciphertext, replacement, cancellationToken))
                {
                    done++;
                }
                else
                {
                    changed++; // rewritten meanwhile (refresh, touch-free writes): the new value is newer anyway
                }
            }

            Diagnostics.Log.Reencrypted(logger, kind.ToString(), done);
            reencrypted += done;
        }

        if (reencrypted > 0 && store is SessionCachingStore cache)
        {
            // The rows were rewritten behind the session cache: every node drops its copies (ADR 0040).
            await cache.ForgetEverythingAsync(cancellationToken);
        }

        return new ReencryptionReport(reencrypted, current_, changed, unreadable);
    }

    /// <summary>How many stored ciphertexts use <paramref name="keyId"/> (for operators and tests).</summary>
    public async Task<int> CountUsingKeyAsync(Guid keyId, CancellationToken cancellationToken)
    {
        var records = (IProtectedRecordStore)StoreRegistration.Backend(store);
        var count = 0;
        foreach (var kind in Enum.GetValues<ProtectedKind>())
        {
            await foreach (var value in records.ReadProtectedAsync(kind, cancellationToken))
            {
                count += ProtectedPayload.KeyId(value.Ciphertext) == keyId ? 1 : 0;
            }
        }

        return count;
    }

    private static string Purpose(ProtectedKind kind) => kind switch
    {
        ProtectedKind.GrantTokens => ProtectionPurposes.Tokens,
        ProtectedKind.SessionData => ProtectionPurposes.SessionData,
        ProtectedKind.LoginTransaction => ProtectionPurposes.LoginTransaction,
        ProtectedKind.PendingRevocation => ProtectionPurposes.PendingRevocation,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
