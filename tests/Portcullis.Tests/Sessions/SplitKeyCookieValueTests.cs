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
        ];

        foreach (var variant in variants)
        {
            Assert.False(SplitKeyCookieValue.TryParse(variant, out _), $"accepted: {variant}");
        }
    }
}
