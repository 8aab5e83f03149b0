using System.Net;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Audit;
using Portcullis.Sessions;
using Portcullis.Storage;
using Portcullis.Tests.Infrastructure;
using Portcullis.Tokens;
using Portcullis.Vault;

namespace Portcullis.Tests.Sessions;

/// <summary>
/// Issue 15 item 1, ADR 0032: split-key sessions on SQLite against the real oidc-provider. The store keeps ciphertext
/// whose key lives only in the session cookie; each consequence the issue lists is attacked here. PostgreSQL and Redis,
/// and refresh across nodes: <c>SplitKeyClusterTests</c>.
/// </summary>
public sealed class SplitKeySessionTests
{
    private const string Cookie = "__Host-portcullis";

    internal static Action<Dictionary<string, string?>> SplitKey(string upstreamUrl) => settings =>
    {
        TestStack.OrdersRoute(upstreamUrl)(settings);
        settings["Portcullis:Session:Mode"] = "split-key";
    };

    [Fact]
    public async Task LoginApiRefreshStormRestartAndLogoutWorkWhileTheStoreAndTheKeyRingTogetherOpenNothing()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 6, clock: clock, adjust: s =>
        {
            SplitKey(upstream.Url)(s);
            s["Portcullis:Refresh:Skew"] = "00:00:01";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin, "alice");

        var cookie = browser.CookiesFor("localhost")[Cookie];
        Assert.True(SplitKeyCookieValue.TryParse(cookie, out var parsed), cookie.Length.ToString());
        var user = await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, user.Status);
        Assert.Contains("alice", user.Body);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
        var issued = (await stack.Idp.TokensAsync()).Single();
        Assert.Equal($"Bearer {issued.AccessToken}", Assert.Single(upstream.Requests).Headers["Authorization"]);

        // The attacker has the store's files and the gateway's whole key ring (its Data Protection provider).
        var session = (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key, data FROM sessions")).Single();
        var grant = (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id, tokens, session_keyed FROM grants")).Single();
        Assert.Equal(1L, grant[2]);
        var keyRing = stack.Gateway.Get<IDataProtectionProvider>();
        foreach (var (purpose, recordKey, bytes) in new[]
        {
            (ProtectionPurposes.SessionData, (string)session[0]!, (byte[])session[1]!),
            (ProtectionPurposes.Tokens, (string)grant[0]!, (byte[])grant[1]!),
            (ProtectionPurposes.SplitKeyTokens, (string)grant[0]!, (byte[])grant[1]!),
        })
        {
            Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => keyRing.CreateProtector(purpose).CreateProtector(recordKey).Unprotect(bytes));
        }

        Assert.Null(stack.Gateway.Get<RecordProtector<TokenSet>>().Unprotect((byte[])grant[1]!, (string)grant[0]!));
        var files = SqliteRows.ReadAllFiles(stack.Gateway.DataDirectory);
        foreach (var secret in new[] { issued.AccessToken!, issued.RefreshToken!, issued.IdToken!, WebEncoders.Base64UrlEncode(parsed.DataKey), cookie })
        {
            Assert.DoesNotContain(secret, files);
            Assert.DoesNotContain(secret, stack.Gateway.Logs.All);
        }

        // A storm of one session with its token due: one refresh, sealed under the session's key (the key travels with
        // every request; the lease is the grant's, as in server mode).
        clock.Advance(TimeSpan.FromSeconds(5.3));
        using var http = new HttpClient();
        var statuses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => ApiCalls.OrdersAsync(http, stack.Origin, cookie, $"storm-{i}")));
        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        var refreshed = (await stack.Idp.TokensAsync()).Single(t => t.GrantType == "refresh_token");
        Assert.All(upstream.Requests.Skip(1), r => Assert.Equal($"Bearer {refreshed.AccessToken}", r.Headers["Authorization"]));

        // After a restart (no memory of the key) the cookie still opens the refreshed grant; the key ring still does not.
        await stack.RestartGatewayAsync();
        Assert.Equal(HttpStatusCode.OK, await ApiCalls.OrdersAsync(http, stack.Origin, cookie, "after-restart"));
        Assert.Equal($"Bearer {refreshed.AccessToken}", upstream.Requests.Last().Headers["Authorization"]);
        grant = (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id, tokens FROM grants")).Single();
        Assert.Null(stack.Gateway.Get<RecordProtector<TokenSet>>().Unprotect((byte[])grant[1]!, (string)grant[0]!));
        Assert.DoesNotContain(refreshed.RefreshToken!, SqliteRows.ReadAllFiles(stack.Gateway.DataDirectory));
        var refreshes = (await stack.Idp.EventsAsync("token")).Count(e => e.GetProperty("grant_type").GetString() == "refresh_token");
        Assert.Equal(1, refreshes);

        // Logout (the request carries the key) revokes the session's refresh token at the provider and leaves nothing.
        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf)).Status);
        await Eventually.RevocationsSentAsync(stack.Gateway);
        Assert.False(await stack.Idp.IsActiveAsync(refreshed.RefreshToken!));
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM grants"));
        Assert.Equal(HttpStatusCode.Unauthorized, await ApiCalls.OrdersAsync(http, stack.Origin, cookie, "after-logout"));
    }

    [Fact]
    public async Task TheRightIdWithAWrongTruncatedOrMissingKeyGets401AndChangesNothingAndEachDeviceKeepsItsOwnGrant()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: SplitKey(upstream.Url), configure: CapturedLogs.IncludeDebug);
        using var laptop = new BrowserClient();
        using var phone = new BrowserClient();
        await laptop.LoginAsync(stack.Origin, "alice");
        await phone.LoginAsync(stack.Origin, "alice");
        var real = laptop.CookiesFor("localhost")[Cookie];
        var id = real[..43];
        var sessionsBefore = await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM sessions ORDER BY key");
        var grantsBefore = await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM grants ORDER BY id");

        string[] variants =
        [
            id + "." + SplitKeyCookieValue.New().Format()[44..],       // another key of the right shape
            id + "." + phone.CookiesFor("localhost")[Cookie][44..],     // the user's other session's real key
            id,                                                        // key missing
            id + ".",
            real[..^1],                                                // key truncated
            real[..^1] + (real[^1] == 'A' ? 'E' : 'A'),                // one character of the key changed
            real[..^1] + SplitKeyCookieValueTests.SpareBitsSet(real[^1]), // its spare bits set: no key's spelling
        ];
        using var http = new HttpClient();
        foreach (var variant in variants)
        {
            foreach (var (method, path) in new[] { (HttpMethod.Get, "/bff/user"), (HttpMethod.Get, "/api/orders/1"), (HttpMethod.Post, "/bff/logout") })
            {
                using var request = new HttpRequestMessage(method, stack.Origin + path);
                request.Headers.Add("Cookie", $"{Cookie}={variant}");
                request.Headers.Add("X-CSRF", "1");
                using var response = await http.SendAsync(request);
                Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.OK, $"{path}: {response.StatusCode}");
                if (path != "/bff/logout")
                {
                    Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                    Assert.Contains("\"error\":\"unauthenticated\"", await response.Content.ReadAsStringAsync());
                }
            }
        }

        // Nothing forwarded, nothing touched, no session ended, no grant deleted, nothing queued for revocation.
        Assert.Empty(upstream.Requests);
        Assert.Equal(sessionsBefore, await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM sessions ORDER BY key"));
        Assert.Equal(grantsBefore, await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM grants ORDER BY id"));
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM pending_revocations"));
        Assert.True(stack.Gateway.Logs.CountOf(6000) > 0); // SplitKeyRefused: any holder of a session id can send wrong keys at will
        Assert.Empty(stack.Gateway.Logs.AboveDebug(6000));

        // Each session holds its own grant copy: two rows of one user, different ciphertext.
        Assert.Equal(2, grantsBefore.Count);
        var grants = await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id, tokens, user_id FROM grants");
        Assert.Equal(grants[0][2], grants[1][2]);
        Assert.NotEqual((byte[])grants[0][1]!, (byte[])grants[1][1]!);
        var issued = await stack.Idp.TokensAsync();
        Assert.Equal(2, issued.Length);

        // Logging out the laptop revokes only its token (two provider sessions, so two grants at oidc-provider: the
        // phone's grant is told apart by its session row's sid, as its tokens are sealed under the phone's key).
        Assert.Equal(HttpStatusCode.OK, (await laptop.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf)).Status);
        await Eventually.RevocationsSentAsync(stack.Gateway);
        Assert.Single(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM grants"));
        Assert.Equal(HttpStatusCode.OK, (await phone.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await laptop.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.False(await stack.Idp.IsActiveAsync(issued[0].RefreshToken!));
        Assert.True(await stack.Idp.IsActiveAsync(issued[1].RefreshToken!));

        // "Log out everywhere" from the phone ends a tablet's session too: its grant row goes, but its token, sealed under
        // the tablet's key, cannot be revoked from here (ADR 0032) and is left to expire; the phone's own is revoked.
        using var tablet = new BrowserClient();
        await tablet.LoginAsync(stack.Origin, "alice");
        var tabletTokens = (await stack.Idp.TokensAsync())[^1];
        Assert.Equal(HttpStatusCode.OK, (await phone.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout?everywhere=true", null, BrowserClient.Csrf)).Status);
        await Eventually.RevocationsSentAsync(stack.Gateway);
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM grants"));
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await tablet.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.False(await stack.Idp.IsActiveAsync(issued[1].RefreshToken!));
        Assert.True(await stack.Idp.IsActiveAsync(tabletTokens.RefreshToken!));
        Assert.Contains("[6001]", stack.Gateway.Logs.All); // SplitKeyGrantEndedWithoutRevocation
        Assert.DoesNotContain("[1103]", stack.Gateway.Logs.All); // VaultDecryptFailed: not a failure here
    }

    [Fact]
    public async Task ASessionEndedByAnAnomalyCheckHasItsGrantRevokedWhileTheRequestStillHoldsItsKey()
    {
        // Only a request of the session carries its key: a grant left for the sweep could never be revoked (ADR 0032).
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            SplitKey(upstream.Url)(s);
            s["Portcullis:Session:Anomalies:UserAgentChange"] = "end";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin, "alice");
        var refreshToken = (await stack.Idp.TokensAsync()).Single().RefreshToken!;

        var stolen = await browser.GetAsync($"{stack.Origin}/api/orders", new Dictionary<string, string> { ["X-CSRF"] = "1", ["User-Agent"] = "Mozilla/5.0 (Attacker) Other/1.0" });
        await Eventually.RevocationsSentAsync(stack.Gateway);

        Assert.Equal(HttpStatusCode.Unauthorized, stolen.Status);
        Assert.Empty(upstream.Requests);
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM sessions"));
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM grants"));
        Assert.False(await stack.Idp.IsActiveAsync(refreshToken));
        var ended = Assert.Single(await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.SessionEnded)));
        Assert.Equal((AuditOutcomes.Refused, "anomaly: unauthenticated"), (ended.Outcome, ended.Detail));
        Assert.DoesNotContain("[6001]", stack.Gateway.Logs.All); // SplitKeyGrantEndedWithoutRevocation
    }

    [Fact]
    public async Task ARevokedGrantEndsTheSplitKeySessionWithReauthenticationRequired()
    {
        // DESIGN.md §5.6 in this mode: the refresh opens the grant with the cookie's key, the provider answers
        // invalid_grant, and the session and its grant end.
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 2, clock: clock, adjust: SplitKey(upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        await stack.Idp.RevokeGrantAsync("alice");
        clock.Advance(TimeSpan.FromSeconds(1.2)); // past the refresh point (half of the 2 s lifetime)
        var response = await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Contains("\"error\":\"reauthentication_required\"", response.Body);
        Assert.Empty(upstream.Requests);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM grants"));
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT * FROM sessions"));
    }

    [Fact]
    public async Task AWorkerIsToldTheUserIsNotPresentAndAnExpiredSessionsGrantIsSweptWithoutItsKey()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(clock: clock, adjust: SplitKey(upstream.Url));
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin, "alice");
        var userId = (string)(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Single()[0]!;

        var result = await stack.Gateway.Get<IUserTokens>().GetForUserAsync(userId, provider: null, actor: "nightly-report");

        Assert.False(result.Succeeded);
        Assert.Equal("user_not_present", result.Error);
        Assert.Contains("split-key", result.Message);
        var refusal = Assert.Single(await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.TokenUse)));
        Assert.Equal(("nightly-report", AuditOutcomes.Refused, "user not present (split-key)"), (refusal.Actor, refusal.Outcome, refusal.Detail));

        // The session expires unused; the sweep cannot open its grant (no request carries the key), so it deletes the row
        // without revoking: nothing is queued, and the log says why.
        clock.Advance(TimeSpan.FromMinutes(31) + SessionTermination.UnusedGrantGrace);
        await Eventually.Until(() => SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM grants"), rows => rows.Count == 0, "the sweep to end the grant");
        Assert.Empty(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM pending_revocations"));
        Assert.Contains("[6001]", stack.Gateway.Logs.All); // SplitKeyGrantEndedWithoutRevocation
        Assert.DoesNotContain("[1103]", stack.Gateway.Logs.All); // VaultDecryptFailed
    }

    [Fact]
    public async Task WithTheOfflineCopyOptedIntoAWorkerUsesTheServerKeyGrantAndEveryUseIsAuditedAsSuch()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            SplitKey(upstream.Url)(s);
            s["Portcullis:Tokens:OfflineAccess"] = "true";
            s["Portcullis:Session:SplitKeyOfflineCopy"] = "true";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin, "alice");
        var userId = (string)(await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id FROM users")).Single()[0]!;

        // The offline grant is the one the operator chose to keep under the key ring: the key ring opens it.
        var grant = (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT id, tokens, offline, session_keyed FROM grants")).Single();
        Assert.Equal((1L, 0L), ((long)grant[2]!, (long)grant[3]!));
        Assert.NotNull(stack.Gateway.Get<RecordProtector<TokenSet>>().Unprotect((byte[])grant[1]!, (string)grant[0]!));
        Assert.Contains("[6002]", stack.Gateway.Logs.All); // SplitKeyOfflineCopyKept

        var result = await stack.Gateway.Get<IUserTokens>().GetForUserAsync(userId, provider: null, actor: "nightly-report");

        Assert.True(result.Succeeded, result.Message);
        Assert.Equal((await stack.Idp.TokensAsync()).Single().AccessToken, result.AccessToken);
        var use = Assert.Single(await stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: AuditEvents.TokenUse)));
        Assert.Equal(("nightly-report", AuditOutcomes.Success, "offline (split-key server copy)"), (use.Actor, use.Outcome, use.Detail));
        // The browser's session still works with its split-key cookie.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
    }
}
