using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Portcullis.Vault;

namespace Portcullis.Tests.Vault;

/// <summary>
/// ADR 0032 (issue 15 item 1): a split-key record opens only with its session's own key, for its own record and
/// purpose; the server's key ring opens nothing; a wrong, short or missing key, or a changed byte, gives null, never an
/// exception that would become a 500.
/// </summary>
public sealed class SessionKeyProtectorTests
{
    private static readonly TokenSet Tokens = new("access-token-value", "refresh-token-value", "id-token-value", DateTimeOffset.UnixEpoch.AddDays(20_000), "openid api");

    private static SessionKeyProtector<TokenSet> Protector(string purpose = ProtectionPurposes.SplitKeyTokens) =>
        new(purpose, VaultJsonContext.Default.TokenSet);

    [Fact]
    public void TheSessionsKeyOpensItsOwnRecord()
    {
        var key = SessionKeyProtector<TokenSet>.NewKey();
        var sealedTokens = Protector().Protect(Tokens, "grant-1", key);

        Assert.Equal(Tokens, Protector().Unprotect(sealedTokens, "grant-1", key));
        var text = Encoding.UTF8.GetString(sealedTokens);
        Assert.DoesNotContain("access-token-value", text);
        Assert.DoesNotContain("refresh-token-value", text);
    }

    [Fact]
    public void AnotherSessionsKeyATruncatedKeyOrNoKeyOpensNothing()
    {
        var key = SessionKeyProtector<TokenSet>.NewKey();
        var sealedTokens = Protector().Protect(Tokens, "grant-1", key);

        Assert.Null(Protector().Unprotect(sealedTokens, "grant-1", SessionKeyProtector<TokenSet>.NewKey()));
        Assert.Null(Protector().Unprotect(sealedTokens, "grant-1", key.AsSpan(0, 31)));
        Assert.Null(Protector().Unprotect(sealedTokens, "grant-1", ReadOnlySpan<byte>.Empty));
        var flipped = (byte[])key.Clone();
        flipped[^1] ^= 1;
        Assert.Null(Protector().Unprotect(sealedTokens, "grant-1", flipped));
    }

    [Fact]
    public void EveryChangedByteIsRefused()
    {
        var key = SessionKeyProtector<TokenSet>.NewKey();
        var sealedTokens = Protector().Protect(Tokens, "grant-1", key);

        // Version, nonce, ciphertext and tag: no byte can be changed without the record being refused.
        for (var i = 0; i < sealedTokens.Length; i++)
        {
            var tampered = (byte[])sealedTokens.Clone();
            tampered[i] ^= 0x01;
            Assert.Null(Protector().Unprotect(tampered, "grant-1", key));
        }

        Assert.Null(Protector().Unprotect(sealedTokens.AsSpan(0, sealedTokens.Length - 1), "grant-1", key));
        Assert.Null(Protector().Unprotect(ReadOnlySpan<byte>.Empty, "grant-1", key));
    }

    [Fact]
    public void ARecordCopiedToAnotherRowOrPurposeDoesNotOpenThere()
    {
        var key = SessionKeyProtector<TokenSet>.NewKey();
        var sealedTokens = Protector().Protect(Tokens, "grant-1", key);

        Assert.Null(Protector().Unprotect(sealedTokens, "grant-2", key));
        Assert.Null(Protector(ProtectionPurposes.SplitKeySessionData).Unprotect(sealedTokens, "grant-1", key));
    }

    [Fact]
    public void TheServersKeyRingOpensNothingOfASplitKeyRecord()
    {
        // The store's bytes in an attacker's hands together with the server's key ring (the same Data Protection set-up
        // the gateway uses): no purpose the gateway knows decrypts them.
        var services = new ServiceCollection();
        Portcullis.Vault.DataProtectionSetup.Configure(services);
        using var provider = services.BuildServiceProvider();
        var dataProtection = provider.GetRequiredService<IDataProtectionProvider>();
        var sealedTokens = Protector().Protect(Tokens, "grant-1", SessionKeyProtector<TokenSet>.NewKey());

        foreach (var purpose in new[] { ProtectionPurposes.Tokens, ProtectionPurposes.SplitKeyTokens, ProtectionPurposes.SessionData })
        {
            var protector = dataProtection.CreateProtector(purpose).CreateProtector("grant-1");
            Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(sealedTokens));
        }
    }

    [Fact]
    public void TwoWritesOfTheSameRecordShareNoCiphertext()
    {
        // Each write draws a fresh nonce: two sessions' copies (or two versions of one) never repeat bytes.
        var key = SessionKeyProtector<TokenSet>.NewKey();
        var first = Protector().Protect(Tokens, "grant-1", key);
        var second = Protector().Protect(Tokens, "grant-1", key);

        Assert.NotEqual(first, second);
    }
}
