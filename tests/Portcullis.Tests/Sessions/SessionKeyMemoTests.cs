using Portcullis.Sessions;
using Portcullis.Storage;

namespace Portcullis.Tests.Sessions;

/// <summary>ADR 0046: the memo answers exactly what hashing would, remembers only what it is told to, and stays bounded.</summary>
public sealed class SessionKeyMemoTests
{
    [Fact]
    public void AKeyIsAlwaysTheCookiesHashRememberedOrNot()
    {
        var memo = new SessionKeyMemo(capacity: 4);
        var cookie = Identifiers.NewSecret();

        Assert.Equal(Identifiers.Hash(cookie), memo.KeyOf(cookie));
        Assert.Equal(0, memo.Count); // asking remembers nothing: made-up cookies cannot fill it

        memo.Remember(cookie, memo.KeyOf(cookie));
        Assert.Equal(1, memo.Count);
        Assert.Equal(Identifiers.Hash(cookie), memo.KeyOf(cookie));
        Assert.Equal(Identifiers.Hash(cookie + "x"), memo.KeyOf(cookie + "x"));

        memo.Forget(cookie);
        Assert.Equal(0, memo.Count);
        Assert.Equal(Identifiers.Hash(cookie), memo.KeyOf(cookie));
    }

    [Fact]
    public void WhenFullItStartsOverAndNeverHoldsMoreThanItsCapacity()
    {
        var memo = new SessionKeyMemo(capacity: 3);
        var cookies = Enumerable.Range(0, 10).Select(_ => Identifiers.NewSecret()).ToArray();

        foreach (var cookie in cookies)
        {
            memo.Remember(cookie, Identifiers.Hash(cookie));
            memo.Remember(cookie, Identifiers.Hash(cookie)); // remembering twice counts once
            Assert.InRange(memo.Count, 1, 3);
        }

        Assert.All(cookies, cookie => Assert.Equal(Identifiers.Hash(cookie), memo.KeyOf(cookie)));
    }
}
