namespace Portcullis.Tests.Infrastructure;

/// <summary>Waits for background work (revocations, cleanup) to show its effect, failing with a message after a bound.</summary>
public static class Eventually
{
    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(50); // real: polls something outside the test's control
        }
    }

    /// <summary>Until the gateway's revocation queue is empty: every queued revocation has been sent or given up.</summary>
    public static Task RevocationsSentAsync(GatewayHost gateway, TimeSpan? timeout = null) =>
        Until(
            () => SqliteRows.QueryAsync(gateway.DataDirectory, "SELECT id FROM pending_revocations"),
            rows => rows.Count == 0,
            "the revocation queue to drain",
            timeout);
}
