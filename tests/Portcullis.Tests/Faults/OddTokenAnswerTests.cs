using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tests.Sessions;

namespace Portcullis.Tests.Faults;

/// <summary>
/// Token answers that are odd but come from real servers, after the refresh token was presented (so possibly spent):
/// they must neither sign the user out nor fail the call with a 500. The real oidc-provider makes its answer, which the
/// test then rewrites on its way out (<see cref="TestIdp.RewriteNextTokenAnswerAsync"/>).
/// </summary>
public sealed class OddTokenAnswerTests
{
    /// <summary>
    /// A provider whose serializer writes every field answers a refresh with <c>"refresh_token": null</c> (it did not
    /// rotate), <c>"id_token": null</c> and <c>"scope": null</c>. Read as empty strings (as the client library does),
    /// the ID token was refused as a forgery and the grant ended; the refresh token was replaced by an empty one and the
    /// next refresh failed with a 500.
    /// </summary>
    [Theory]
    [InlineData("server")]
    [InlineData("stateless")]
    public async Task NullsForTheOptionalFieldsOfARefreshAnswerMeanAbsentAndTheSessionCarriesOn(string mode)
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(
            accessTokenTtl: 60,
            clock: clock,
            adjust: Route(mode, upstream.Url),
            idpConfig: (config, _) => config["rotateRefreshToken"] = false);
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin);

        await stack.Idp.RewriteNextTokenAnswerAsync("refresh_token", new JsonObject { ["refresh_token"] = null, ["id_token"] = null, ["scope"] = null });
        clock.Advance(TimeSpan.FromSeconds(55)); // the access token is due
        var first = await alice.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf);

        Assert.Single(await stack.Idp.EventsAsync("rewritten_token_answer"));
        var refreshed = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal($"Bearer {refreshed.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);

        // The refresh token kept from the login still works: the next refresh succeeds.
        clock.Advance(TimeSpan.FromSeconds(55));
        var second = await alice.GetAsync($"{stack.Origin}/api/orders/2", BrowserClient.Csrf);
        var refreshes = (await stack.Idp.TokensAsync()).Where(t => t.GrantType == "refresh_token").ToArray();
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(2, refreshes.Length);
        Assert.Equal($"Bearer {refreshes[1].AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.DoesNotContain("[1005]", stack.Gateway.Logs.All); // IdTokenRefused
        Assert.DoesNotContain(stack.Gateway.Logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal));
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All));
    }

    /// <summary>
    /// A refresh answered 200 with a body the gateway cannot use: no access token, JSON <c>null</c>, an array. The
    /// provider has seen the refresh token, so this is an answer the gateway could not read (ADR 0021), not a refusal
    /// and not a 500: 503 for its caller, then the current access token serves while it is valid, then the refresh token
    /// is presented once more.
    /// Before, <c>{}</c> was saved as a grant without an access token, and the others failed the call with a 500.
    /// </summary>
    [Theory]
    [InlineData("{}")]
    [InlineData("null")]
    [InlineData("[]")]
    public async Task ARefreshAnswerWithoutAnUsableBodyIsAnUnreadAnswerNotASignOutOrA500(string body)
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(
            accessTokenTtl: 60,
            clock: clock,
            adjust: TestStack.OrdersRoute(upstream.Url),
            idpConfig: (config, _) => config["rotateRefreshToken"] = false);
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin);
        var login = (await stack.Idp.TokensAsync()).Single();

        await stack.Idp.RewriteNextTokenAnswerAsync("refresh_token", body: body);
        clock.Advance(TimeSpan.FromSeconds(55)); // due, not expired
        var during = await alice.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf);

        Assert.Single(await stack.Idp.EventsAsync("rewritten_token_answer"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.Status); // as for an answer lost on the wire
        Assert.Contains("\"error\":\"provider_unavailable\"", during.Body);
        Assert.Contains("[1020]", stack.Gateway.Logs.All); // RefreshOutcomeUnknown
        var meanwhile = await alice.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, meanwhile.Status);
        Assert.Equal($"Bearer {login.AccessToken}", Assert.Single(upstream.Requests).Headers["Authorization"]);

        clock.Advance(TimeSpan.FromSeconds(30)); // the access token has expired: the refresh token is presented again
        var after = await alice.GetAsync($"{stack.Origin}/api/orders/2", BrowserClient.Csrf);
        var refreshes = (await stack.Idp.TokensAsync()).Where(t => t.GrantType == "refresh_token").ToArray();
        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.Equal(2, refreshes.Length);
        Assert.Equal($"Bearer {refreshes[1].AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        Assert.DoesNotContain(stack.Gateway.Logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal));
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All));
    }

    /// <summary>
    /// A login answered with <c>"refresh_token": null</c> has no refresh token: the access token serves until it expires
    /// and nothing is presented to the token endpoint. Read as an empty string, it was presented when the token fell due,
    /// and the call failed with a 500.
    /// </summary>
    [Fact]
    public async Task ALoginAnsweredWithANullRefreshTokenHasNoneAndItsAccessTokenServesUntilItExpires()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 60, clock: clock, adjust: TestStack.OrdersRoute(upstream.Url));
        await stack.Idp.RewriteNextTokenAnswerAsync("authorization_code", new JsonObject { ["refresh_token"] = null });
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin);
        var login = (await stack.Idp.TokensAsync()).Single();

        clock.Advance(TimeSpan.FromSeconds(55)); // due: a grant with a refresh token would refresh now
        var due = await alice.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf);
        clock.Advance(TimeSpan.FromSeconds(10)); // expired
        var expired = await alice.GetAsync($"{stack.Origin}/api/orders/2", BrowserClient.Csrf);

        Assert.Single(await stack.Idp.EventsAsync("rewritten_token_answer"));
        Assert.Equal(HttpStatusCode.OK, due.Status);
        Assert.Equal($"Bearer {login.AccessToken}", Assert.Single(upstream.Requests).Headers["Authorization"]);
        Assert.Equal(HttpStatusCode.Unauthorized, expired.Status);
        Assert.Contains("\"error\":\"reauthentication_required\"", expired.Body);
        Assert.DoesNotContain(await stack.Idp.TokensAsync(), t => t.GrantType == "refresh_token");
        Assert.DoesNotContain(stack.Gateway.Logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal));
        Assert.All(await stack.Idp.AllTokenValuesAsync(), token => Assert.DoesNotContain(token, stack.Gateway.Logs.All));
    }

    private static Action<Dictionary<string, string?>> Route(string mode, string upstreamUrl) =>
        mode == "stateless" ? StatelessSessionTests.Stateless(upstreamUrl) : TestStack.OrdersRoute(upstreamUrl);
}
