using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Providers;

public sealed class IdentityLinkingTests
{
    [Fact]
    public async Task AReturningUserIsRecognizedAfterClearingCookies()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true);
        string firstUserId;
        using (var browser = new BrowserClient())
        {
            await stack.LoginAsync(browser, "github", "octocat");
            firstUserId = (await stack.UserAsync(browser)).GetProperty("userId").GetString()!;
        }

        using var cleared = new BrowserClient();
        await stack.LoginAsync(cleared, "github", "octocat");

        Assert.Equal(firstUserId, (await stack.UserAsync(cleared)).GetProperty("userId").GetString());
        Assert.Single(await stack.RowsAsync("SELECT * FROM users"));
        Assert.Single(await stack.RowsAsync("SELECT * FROM identities"));
        // One grant per session (ADR 0027): the second login did not touch the first one's tokens.
        Assert.Equal(2, (await stack.RowsAsync("SELECT * FROM grants")).Count);
    }

    /// <summary>
    /// The identity is linked, then the store refuses the new session's row (as a PostgreSQL that failed over to a
    /// read-only standby does): the user gets 503 and stays signed in with the session that asked. The session that
    /// asked used to be deleted first, at the link, so this left the user signed out.
    /// </summary>
    [Fact]
    public async Task ALinkThatFailsAfterTheIdentityWasLinkedLeavesTheUserSignedInAsBefore()
    {
        var store = await ScaleOut.GatewayCluster.StoreSettingsAsync("postgres");
        await using var stack = await ProviderStack.StartAsync(gitHub: true, discord: true, adjust: s =>
        {
            foreach (var (key, value) in store)
            {
                s[key] = value;
            }
        });
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "github", "octocat");
        var userId = (await stack.UserAsync(browser)).GetProperty("userId").GetString();

        await RunSqlAsync(store, """
            CREATE FUNCTION refuse_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'cannot execute INSERT in a read-only transaction' USING ERRCODE = '25006'; END $$;
            CREATE TRIGGER refuse_sessions BEFORE INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION refuse_sessions();
            """);
        var linked = await stack.LinkAsync(browser, "discord", "nelly");
        await RunSqlAsync(store, "DROP TRIGGER refuse_sessions ON sessions;");
        var after = await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, linked.Status);
        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.Contains($"\"userId\":\"{userId}\"", after.Body);
        Assert.Contains("\"provider\":\"github\"", after.Body);
    }

    private static async Task RunSqlAsync(Dictionary<string, string?> store, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(store["Portcullis:Store:ConnectionString"]);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task ASignedInUserCanLinkASecondProviderAndThenSignInWithEither()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true, discord: true);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "github", "octocat");
        var userId = (await stack.UserAsync(browser)).GetProperty("userId").GetString()!;
        var firstSession = (await stack.RowsAsync("SELECT key FROM sessions")).Single()[0];

        var linked = await stack.LinkAsync(browser, "discord", "nelly");

        Assert.Equal(HttpStatusCode.OK, linked.Status);
        var user = await stack.UserAsync(browser);
        Assert.Equal(userId, user.GetProperty("userId").GetString());
        Assert.Equal("discord", user.GetProperty("provider").GetString());
        var identities = await stack.RowsAsync("SELECT provider, subject, user_id FROM identities ORDER BY provider");
        Assert.Equal(["discord", "github"], identities.Select(r => (string)r[0]!));
        Assert.All(identities, r => Assert.Equal(userId, r[2]));
        // The session that asked was replaced by the new one.
        var sessions = await stack.RowsAsync("SELECT key, user_id FROM sessions");
        Assert.DoesNotContain(sessions, s => Equals(s[0], firstSession));
        Assert.Single(sessions);

        // Later, in a fresh browser, either provider signs the same person in.
        foreach (var (provider, username) in new[] { ("discord", "nelly"), ("github", "octocat") })
        {
            using var fresh = new BrowserClient();
            await stack.LoginAsync(fresh, provider, username);
            Assert.Equal(userId, (await stack.UserAsync(fresh)).GetProperty("userId").GetString());
        }

        Assert.Single(await stack.RowsAsync("SELECT * FROM users"));
    }

    [Fact]
    public async Task LinkingIsAPostFromTheGatewaysOwnOriginBySomeoneSignedIn()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true, discord: true, adjust: s =>
        {
            s["Portcullis:Csrf:AllowedOrigins:0"] = "http://app.localhost:5999";
            s["Portcullis:Csrf:AllowInsecureTransport"] = "true";
        });
        using var browser = new BrowserClient();
        var link = $"{stack.Origin}/bff/link?provider=discord";

        // What a request started elsewhere looks like: the SameSite=Strict session cookie is not sent.
        var anonymous = await browser.SendAsync(HttpMethod.Post, link, null, ProviderStack.AppRequestHeaders(stack.Origin));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);

        await stack.LoginAsync(browser, "github", "octocat");
        var attempts = new Dictionary<string, RecordedResponse>
        {
            // The old way: a link any page on the same site could start with a plain link or redirect.
            ["GET /bff/login?link=true"] = await browser.GetAsync($"{stack.Origin}/bff/login?provider=discord&link=true"),
            ["no anti-forgery header"] = await browser.SendAsync(HttpMethod.Post, link, null, new Dictionary<string, string> { ["Origin"] = stack.Origin }),
            ["a sibling subdomain (same-site)"] = await browser.SendAsync(HttpMethod.Post, link, null, ProviderStack.AppRequestHeaders("http://evil.localhost:5999", "same-site")),
            ["an allowed CORS origin"] = await browser.SendAsync(HttpMethod.Post, link, null, ProviderStack.AppRequestHeaders("http://app.localhost:5999", "same-site")),
            ["cross-site"] = await browser.SendAsync(HttpMethod.Post, link, null, ProviderStack.AppRequestHeaders("https://evil.example", "cross-site")),
        };

        Assert.Equal(HttpStatusCode.BadRequest, attempts["GET /bff/login?link=true"].Status);
        Assert.All(attempts.Where(a => a.Key != "GET /bff/login?link=true"), a => Assert.True(a.Value.Status == HttpStatusCode.Forbidden, $"{a.Key}: {(int)a.Value.Status}"));
        Assert.All(attempts.Values, a => Assert.False(a.Headers.ContainsKey("Location")));
        Assert.Empty(await stack.RowsAsync("SELECT * FROM login_transactions"));
        Assert.Single(await stack.RowsAsync("SELECT * FROM identities"));
    }

    [Fact]
    public async Task ALinkMakesTheProviderAskForThePasswordAgainDespiteALiveProviderSession()
    {
        await using var stack = await ProviderStack.StartAsync(oidc: true);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "main", "alice");
        var passwordPagesAfterFirstLogin = PasswordPages(browser);

        // Control: a plain second login rides on the provider session without asking for the password.
        await stack.LoginAsync(browser, "main", "alice");
        Assert.Equal(passwordPagesAfterFirstLogin, PasswordPages(browser));

        var url = await stack.StartLinkAsync(browser, "main");
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(url).Query);
        Assert.Equal("login", query["prompt"].ToString());
        Assert.Equal("0", query["max_age"].ToString());
        var completed = await browser.GetAsync(await browser.AuthorizeAtProviderAsync(url, "alice"));

        Assert.Equal(HttpStatusCode.OK, completed.Status);
        Assert.Equal(passwordPagesAfterFirstLogin + 1, PasswordPages(browser));
        // The fresh sign-in is on record: auth_time is now (max_age=0 made the provider state it, and the gateway check it).
        var session = (await stack.UserAsync(browser)).GetProperty("session");
        Assert.True(session.TryGetProperty("authTime", out var authTime) && authTime.ValueKind == System.Text.Json.JsonValueKind.String, session.ToString());
    }

    /// <summary>
    /// The link URL passes through the browser: a script riding the session can strip <c>prompt=login</c> and
    /// <c>max_age=0</c> and finish the link on the live provider session. The gateway itself refuses an answer without
    /// an <c>auth_time</c> or with one older than the link (beyond the one-minute clock allowance), whatever the URL
    /// asked (SECURITY.md item 39; an audit of 2026-12-08 found only the honest provider's obedience tested).
    /// </summary>
    [Fact]
    public async Task ALinkWhoseUrlWasStrippedOfItsFreshSignInDemandIsRefusedByTheGateway()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await ProviderStack.StartAsync(oidc: true, clock: clock);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "main", "alice");
        var before = await stack.UserAsync(browser);
        var identities = await stack.RowsAsync("SELECT * FROM identities ORDER BY provider, subject");
        // The provider session's sign-in is now three minutes old to the gateway.
        clock.Advance(TimeSpan.FromMinutes(3));

        var url = new Uri(await stack.StartLinkAsync(browser, "main"));
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(url.Query)
            .Where(p => p.Key is not ("prompt" or "max_age"))
            .ToDictionary(p => p.Key, p => (string?)p.Value.ToString());
        var stripped = Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(url.GetLeftPart(UriPartial.Path), query);
        var passwordPages = PasswordPages(browser);
        var completed = await browser.GetAsync(await browser.AuthorizeAtProviderAsync(stripped, "alice"));

        Assert.Equal(passwordPages, PasswordPages(browser)); // the provider did not ask: the stripping worked on it
        Assert.Equal(HttpStatusCode.BadRequest, completed.Status);
        // The gateway's own freshness check (StepUpRefused): oidc-provider leaves auth_time out when max_age is not asked.
        Assert.Contains(stack.Gateway.Logs.Lines, line => line.Contains("[3001]", StringComparison.Ordinal) && line.Contains("auth_time", StringComparison.Ordinal));
        Assert.Equal(identities, await stack.RowsAsync("SELECT * FROM identities ORDER BY provider, subject"));
        var after = await stack.UserAsync(browser);
        Assert.Equal(before.GetProperty("userId").GetString(), after.GetProperty("userId").GetString());
    }

    private static int PasswordPages(BrowserClient browser) =>
        browser.Responses.Count(r => r.Body.Contains("name=\"password\"", StringComparison.Ordinal));

    [Fact]
    public async Task AMatchingVerifiedEmailNeverLinksAccounts()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true, discord: true, prepare: s =>
        {
            // Same verified address at both providers: still two different people to the gateway.
            s.Discord!.Users["nelly"] = new Portcullis.Simulators.SimulatedUser("80351110224678912", "nelly") { Email = "octocat@example.com", EmailVerified = true };
        });
        using var github = new BrowserClient();
        using var discord = new BrowserClient();

        await stack.LoginAsync(github, "github", "octocat");
        await stack.LoginAsync(discord, "discord", "nelly");

        var githubUser = await stack.UserAsync(github);
        var discordUser = await stack.UserAsync(discord);
        Assert.Equal(githubUser.GetProperty("claims").GetProperty("email").GetString(), discordUser.GetProperty("claims").GetProperty("email").GetString());
        Assert.True(discordUser.GetProperty("claims").GetProperty("email_verified").GetBoolean());
        Assert.NotEqual(githubUser.GetProperty("userId").GetString(), discordUser.GetProperty("userId").GetString());
        Assert.Equal(2, (await stack.RowsAsync("SELECT DISTINCT user_id FROM identities")).Count);
    }

    [Fact]
    public async Task AnIdentityThatBelongsToAnotherUserIsNotTakenOverByLinking()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true, discord: true);
        using var owner = new BrowserClient();
        await stack.LoginAsync(owner, "discord", "nelly");
        var ownerId = (await stack.UserAsync(owner)).GetProperty("userId").GetString();
        using var other = new BrowserClient();
        await stack.LoginAsync(other, "github", "octocat");
        var otherId = (await stack.UserAsync(other)).GetProperty("userId").GetString();

        var refused = await stack.LinkAsync(other, "discord", "nelly");

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("login_failed", refused.Body);
        var nelly = await stack.RowsAsync("SELECT user_id FROM identities WHERE provider = 'discord'");
        Assert.Equal(ownerId, Assert.Single(nelly)[0]);
        Assert.Equal(otherId, (await stack.UserAsync(other)).GetProperty("userId").GetString());
        Assert.Equal(ownerId, (await stack.UserAsync(owner)).GetProperty("userId").GetString());
        Assert.Contains("[3003]", stack.Gateway.Logs.All);
    }

    [Fact]
    public async Task AnAttackersLinkCallbackOpenedInTheVictimsBrowserLinksNothing()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true, discord: true);
        using var victim = new BrowserClient();
        await stack.LoginAsync(victim, "github", "octocat");
        var victimId = (await stack.UserAsync(victim)).GetProperty("userId").GetString();

        // The attacker, signed in as someone else, starts a link with their own Discord account and stops before the callback.
        using var attacker = new BrowserClient();
        await stack.LoginAsync(attacker, "github", "hubot");
        var attackerCallback = await attacker.AuthorizeAtProviderAsync(await stack.StartLinkAsync(attacker, "discord"), "mason");

        var forced = await victim.GetAsync(attackerCallback);

        Assert.Equal(HttpStatusCode.BadRequest, forced.Status);
        Assert.Empty(stack.Discord!.Observed.TokenRequests);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM identities WHERE provider = 'discord'"));
        Assert.Equal(victimId, (await stack.UserAsync(victim)).GetProperty("userId").GetString());
        Assert.Equal("github", (await stack.UserAsync(victim)).GetProperty("provider").GetString());
    }

    [Fact]
    public async Task ALinkIsCancelledWhenTheSessionThatAskedForItEndedMeanwhile()
    {
        await using var stack = await ProviderStack.StartAsync(gitHub: true, discord: true);
        using var browser = new BrowserClient();
        await stack.LoginAsync(browser, "github", "octocat");
        var callback = await browser.AuthorizeAtProviderAsync(await stack.StartLinkAsync(browser, "discord"), "nelly");

        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf)).Status);
        var completed = await browser.GetAsync(callback);

        Assert.Equal(HttpStatusCode.BadRequest, completed.Status);
        Assert.Empty(await stack.RowsAsync("SELECT * FROM identities WHERE provider = 'discord'"));
        Assert.Empty(await stack.RowsAsync("SELECT * FROM sessions"));
    }
}
