using System.Security.Cryptography;
using System.Text;

namespace Portcullis.Demo.Provider;

internal static class DemoUsers
{
    // Fixed passwords: the demo prints them, and a person trying the demo twice should not have to
    // look them up again. The provider only listens on loopback.
    public static IReadOnlyList<DemoUser> All { get; } =
    [
        new("3f6c1a52-alice", "alice", "wonderland", "Alice", "Liddell", "alice@example.com"),
        new("8b2e7d90-bob", "bob", "builder", "Bob", "Builder", "bob@example.com"),
    ];

    public static DemoUser? FindBySubject(string? subject) =>
        All.FirstOrDefault(user => string.Equals(user.Subject, subject, StringComparison.Ordinal));

    public static DemoUser? FindByCredentials(string? userName, string? password)
    {
        var user = All.FirstOrDefault(u => string.Equals(u.UserName, userName, StringComparison.Ordinal));
        if (user is null || password is null)
        {
            return null;
        }

        // Constant-time comparison, so the demo does not teach the timing-leaking string compare.
        return CryptographicOperations.FixedTimeEquals(
            Encoding.UTF8.GetBytes(user.Password),
            Encoding.UTF8.GetBytes(password)) ? user : null;
    }
}
