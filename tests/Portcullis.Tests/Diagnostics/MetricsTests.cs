using System.Net;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Diagnostics;

/// <summary>Issue 19: the <c>Portcullis</c> meter, heard in-process after real logins, refreshes and proxied calls.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task LoginsRefreshesProxiedCallsAndSessionEndsAreCountedWithBoundedAttributes()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // 2 s tokens are due at half life (1 s): the fake clock moves the gateway past that point without sleeping.
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 2, clock: clock, adjust: TestStack.OrdersRoute(upstream.Url));
        using var metrics = new CollectedMetrics(stack.Gateway.Services);
        using var alice = new BrowserClient();
        using var bob = new BrowserClient();
        await alice.LoginAsync(stack.Origin);
        await bob.LoginAsync(stack.Origin, "bob");

        Assert.Equal(2, metrics.Sum("portcullis.logins", ("provider", "main"), ("outcome", "success")));
        Assert.Equal(2, metrics.Sum("portcullis.sessions.created", ("provider", "main")));

        // A proxied call with a fresh token.
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
        Assert.Equal(1, metrics.Sum("portcullis.proxy.requests", ("route", "orders"), ("status_class", "2xx")));
        Assert.Single(metrics.Of("portcullis.proxy.request.duration", ("route", "orders"), ("status_class", "2xx")));
        Assert.Empty(metrics.Of("portcullis.token.refreshes"));

        // A successful refresh.
        clock.Advance(TimeSpan.FromSeconds(1.2));
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{stack.Origin}/api/orders/2", BrowserClient.Csrf)).Status);
        Assert.Equal(1, metrics.Sum("portcullis.token.refreshes", ("provider", "main"), ("outcome", "success")));
        var duration = Assert.Single(metrics.Of("portcullis.token.refresh.duration", ("provider", "main"), ("outcome", "success")));
        Assert.True(duration.Value >= 0);

        // A refresh that fails because the provider is down: 503, counted as an error; bob's logout queues a
        // revocation that cannot be sent, which the pending gauge shows.
        await stack.Idp.SetOutageAsync("down");
        clock.Advance(TimeSpan.FromSeconds(1.2));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await alice.GetAsync($"{stack.Origin}/api/orders/3", BrowserClient.Csrf)).Status);
        Assert.Equal(1, metrics.Sum("portcullis.token.refreshes", ("provider", "main"), ("outcome", "error")));
        Assert.Equal(1, metrics.Sum("portcullis.proxy.requests", ("route", "orders"), ("status_class", "5xx")));
        Assert.Equal(HttpStatusCode.OK, (await bob.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf)).Status);
        Assert.Equal(1, metrics.Sum("portcullis.sessions.ended", ("reason", "logout")));
        await Eventually.Until(
            () => Task.FromResult(metrics.Observe("portcullis.revocations.pending")),
            gauge => gauge.Length > 0 && gauge[^1].Value == 1,
            "the pending-revocations gauge to show bob's queued revocation");

        // The provider is back but has revoked alice's grant: invalid_grant ends her session.
        await stack.Idp.SetOutageAsync("up");
        await stack.Idp.RevokeGrantAsync("alice");
        clock.Advance(TimeSpan.FromSeconds(1.2)); // past the access token's expiry, after an unknown outcome too
        var refused = await alice.GetAsync($"{stack.Origin}/api/orders/4", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        Assert.Equal(1, metrics.Sum("portcullis.token.refreshes", ("provider", "main"), ("outcome", "invalid_grant")));
        Assert.Equal(1, metrics.Sum("portcullis.sessions.ended", ("reason", "reauthentication")));
        Assert.Equal(1, metrics.Sum("portcullis.proxy.requests", ("route", "orders"), ("status_class", "4xx")));
        Assert.Equal(3, metrics.Of("portcullis.token.refreshes").Length);

        // Every store call is timed by operation and backend.
        Assert.NotEmpty(metrics.Of("portcullis.store.operation.duration", ("operation", "get_session_and_grant"), ("store", "sqlite")));
        Assert.NotEmpty(metrics.Of("portcullis.store.operation.duration", ("operation", "save_grant"), ("store", "sqlite")));

        // No token, identifier, e-mail address or user name in any attribute.
        var secrets = (await stack.Idp.AllTokenValuesAsync())
            .Concat((await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Select(r => r[0]!.ToString()!))
            .Concat(["alice", "bob", "@example.com"])
            .ToArray();
        var values = metrics.AllAttributeValues().Distinct().ToArray();
        Assert.All(values, value => Assert.DoesNotContain(secrets, secret => value.Contains(secret, StringComparison.OrdinalIgnoreCase)));
        Assert.All(values, value => Assert.Matches("^[a-z0-9_]+$", value));
    }

    [Fact]
    public async Task SessionsThatExpireAreCountedIdleOrAbsoluteWhenTheSweepRemovesThem()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(clock: clock, adjust: settings =>
        {
            settings["Portcullis:Session:IdleTimeout"] = "00:10:00";
            settings["Portcullis:Session:AbsoluteTimeout"] = "00:12:00";
        });
        using var metrics = new CollectedMetrics(stack.Gateway.Services);
        using var alice = new BrowserClient();
        using var bob = new BrowserClient();
        await alice.LoginAsync(stack.Origin);
        await bob.LoginAsync(stack.Origin, "bob");

        // Minute 6: bob is active, so his idle expiry moves to the absolute limit (minute 12); alice's stays at minute 10.
        clock.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);

        // Minute 15: both are over (the store contract tests show an expired session is never served before a sweep);
        // the sweeps, every 5 minutes, remove them and count how each ended, once.
        clock.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(HttpStatusCode.Unauthorized, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bob.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        await Eventually.Until(
            () => Task.FromResult((Idle: metrics.Sum("portcullis.sessions.ended", ("reason", "idle")), Absolute: metrics.Sum("portcullis.sessions.ended", ("reason", "absolute")))),
            ended => ended is (1, 1),
            "the sweep to count alice's session as idle and bob's as absolute");
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions"));
        int Sweeps() => metrics.Of("portcullis.store.operation.duration", ("operation", "delete_expired")).Length;
        var sweeps = Sweeps();
        clock.Advance(TimeSpan.FromMinutes(5));
        await Eventually.Until(() => Task.FromResult(Sweeps()), n => n > sweeps, "another sweep");
        Assert.Equal(2, metrics.Sum("portcullis.sessions.ended"));
    }
}
