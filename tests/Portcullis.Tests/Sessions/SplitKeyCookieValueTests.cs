using Portcullis.Sessions;

namespace Portcullis.Tests.Sessions;

/// <summary>ADR 0032: the split-key cookie is <c>{id}.{key}</c> exactly; every other shape is refused before the store is read.</summary>
public sealed class SplitKeyCookieValueTests
{
    [Fact]
    public void AFreshValueRoundTripsAndHasTheDocumentedLength()
    {
        var value = SplitKeyCookieValue.New();
        var text = value.Format();

        Assert.Equal(87, text.Length);
        Assert.True(SplitKeyCookieValue.TryParse(text, out var parsed));
        Assert.Equal(value.SessionId, parsed.SessionId);
        Assert.Equal(value.DataKey, parsed.DataKey);
        Assert.NotEqual(SplitKeyCookieValue.New().DataKey, value.DataKey);
    }

    [Fact]
    public void TruncatedMissingPaddedOrExtendedValuesAreRefused()
    {
        var real = SplitKeyCookieValue.New().Format();
        string?[] variants =
        [
            null,
            "",
            real[..43],            // the id alone: a server-mode cookie, or the key stripped
            real[..44],            // the separator, no key
            real[..^1],            // one character of the key missing
            real + "A",
            real + "=",
            real.Replace('.', ':'),
            real[..43] + "." + real[..43] + "." + real[44..],
            real[44..] + "." + real[..43][..^1],
            real.Replace(real[50], '+'),
            real.Replace(real[10], '%'),
            real[..^1] + SpareBitsSet(real[^1]),  // a key's last character with its two spare bits set
        ];

        foreach (var variant in variants)
        {
            Assert.False(SplitKeyCookieValue.TryParse(variant, out _), $"accepted: {variant}");
        }
    }

    [Fact]
    public void EveryLastCharacterThatEncodesNoKeyIsRefusedAndNoneThrows()
    {
        // 43 base64url characters carry 258 bits for a 256-bit key: only 16 of the 64 characters can end a real key.
        // The other 48 once reached a throwing decoder, and a forged cookie got a 500 instead of a 401.
        var real = SplitKeyCookieValue.New().Format();
        var accepted = Alphabet.Where(last => SplitKeyCookieValue.TryParse(real[..^1] + last, out _)).ToArray();

        Assert.Equal(16, accepted.Length);
        Assert.All(accepted, last => Assert.Equal(0, Alphabet.IndexOf(last) & 3));
    }

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /// <summary>The same 6 bits with the two that a key's last character leaves unused set: the spelling of no key.</summary>
    internal static char SpareBitsSet(char last) => Alphabet[Alphabet.IndexOf(last) | 1];
}
