using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Portcullis.Audit;
using Portcullis.Storage;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Endpoints;

/// <summary>
/// Issue 19, the operator page's API, played against the real provider: alice satisfies <c>Portcullis:Admin:Policy</c>
/// (her e-mail), bob does not. A non-operator sees nothing, an operator finds a user, ends one session or all of them
/// (revoked at the provider), and every lookup and action is audited under the operator's id.
/// </summary>
public sealed class AdminTests
{
    private static readonly Action<Dictionary<string, string?>> Operators = settings =>
    {
        settings["Portcullis:Policies:operators:RequireClaims:email:0"] = "alice@example.com";
        settings["Portcullis:Admin:Policy"] = "operators";
    };

    [Fact]
    public async Task ANonOperatorAndAnonymousCallerSeeNothingAndCannotEndAnything()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s => { TestStack.OrdersRoute(upstream.Url)(s); Operators(s); }, configure: CapturedLogs.IncludeDebug);
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        using var bob = new BrowserClient();
        await bob.LoginAsync(stack.Origin, "bob");
        var aliceId = await UserIdAsync(stack, "alice");

        var page = await bob.GetAsync($"{stack.Origin}/bff/admin", new Dictionary<string, string> { ["Accept"] = "text/html" });
        Assert.Equal(HttpStatusCode.Forbidden, page.Status);
        Assert.DoesNotContain("Find a user", page.Body);
        Assert.Equal(HttpStatusCode.Forbidden, (await bob.GetAsync($"{stack.Origin}/bff/admin/admin.js")).Status);

        var lookup = await bob.GetAsync($"{stack.Origin}/bff/admin/api/users?provider=main&subject=alice", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.Forbidden, lookup.Status);
        Assert.DoesNotContain("sessions", lookup.Body);
        Assert.DoesNotContain(aliceId, lookup.Body);
        var endAll = await bob.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/admin/api/users/{aliceId}/logout", headers: BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.Forbidden, endAll.Status);

        using var anonymous = new BrowserClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"{stack.Origin}/bff/admin/api/overview", BrowserClient.Csrf)).Status);
        var anonymousPage = await anonymous.GetAsync($"{stack.Origin}/bff/admin", new Dictionary<string, string> { ["Accept"] = "text/html" });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousPage.Status);
        Assert.Contains("Sign in first", anonymousPage.Body);

        // Even the operator needs the anti-forgery header for the API.
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/admin/api/users/{aliceId}/logout")).Status);

        // Nothing changed: alice's session is alive and nothing was ended or revoked.
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
        Assert.Empty(await stack.Idp.EventsAsync("revocation"));
        Assert.Empty(await AuditAsync(stack, AuditEvents.AdminSessionEnded));
        // A signed-in user can repeat a refused operator request at will: Debug only (SECURITY.md item 42).
        Assert.True(stack.Gateway.Logs.CountOf(5010) > 0); // AdminRefused
        Assert.Empty(stack.Gateway.Logs.AboveDebug(5010));
    }

    [Fact]
    public async Task AnOperatorFindsAUserEndsOneSessionThenAllOfThemAndEachIsRevokedAndAudited()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: s => { TestStack.OrdersRoute(upstream.Url)(s); Operators(s); });
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        using var bobLaptop = new BrowserClient();
        await bobLaptop.LoginAsync(stack.Origin, "bob");
        using var bobPhone = new BrowserClient();
        await bobPhone.LoginAsync(stack.Origin, "bob");
        var aliceId = await UserIdAsync(stack, "alice");

        var page = await alice.GetAsync($"{stack.Origin}/bff/admin", new Dictionary<string, string> { ["Accept"] = "text/html" });
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("Find a user", page.Body);

        var found = await alice.GetAsync($"{stack.Origin}/bff/admin/api/users?provider=main&subject=bob", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, found.Status);
        using var user = JsonDocument.Parse(found.Body);
        var bobId = user.RootElement.GetProperty("id").GetString()!;
        var sessions = user.RootElement.GetProperty("sessions").EnumerateArray().ToArray();
        Assert.Equal(2, sessions.Length);
        Assert.NotEmpty(user.RootElement.GetProperty("grants").EnumerateArray());
        Assert.All(user.RootElement.GetProperty("grants").EnumerateArray(), g => Assert.True(g.GetProperty("hasRefreshToken").GetBoolean()));
        foreach (var issued in await stack.Idp.TokensAsync())
        {
            Assert.DoesNotContain(issued.AccessToken!, found.Body);
            Assert.DoesNotContain(issued.RefreshToken ?? "no refresh token", found.Body);
        }

        Assert.DoesNotContain(bobLaptop.CookiesFor("localhost")["__Host-portcullis"], found.Body);

        // End the laptop's session (found by its handle in the user's own list) : the laptop is out, the phone is not.
        var laptopHandle = await OwnHandleAsync(stack, bobLaptop);
        var ended = await alice.SendAsync(HttpMethod.Delete, $"{stack.Origin}/bff/admin/api/users/{bobId}/sessions/{laptopHandle}", headers: BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.NoContent, ended.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bobLaptop.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.OK, (await bobPhone.GetAsync($"{stack.Origin}/api/orders/2", BrowserClient.Csrf)).Status);
        var one = Assert.Single(await AuditAsync(stack, AuditEvents.AdminSessionEnded));
        Assert.Equal((aliceId, bobId, laptopHandle), (one.Actor, one.UserId, one.SessionHandle));

        // Another user's handle under bob's id is not found: nothing ends.
        var aliceHandle = await OwnHandleAsync(stack, alice);
        var foreign = await alice.SendAsync(HttpMethod.Delete, $"{stack.Origin}/bff/admin/api/users/{bobId}/sessions/{aliceHandle}", headers: BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.NotFound, foreign.Status);

        // End all of bob's sessions: the phone is out and bob's grant is revoked at the provider.
        var all = await alice.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/admin/api/users/{bobId}/logout", headers: BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, all.Status);
        Assert.Equal(1, JsonDocument.Parse(all.Body).RootElement.GetProperty("ended").GetInt32());
        Assert.Equal(HttpStatusCode.Unauthorized, (await bobPhone.GetAsync($"{stack.Origin}/api/orders/3", BrowserClient.Csrf)).Status);
        await Eventually.RevocationsSentAsync(stack.Gateway);
        Assert.NotEmpty(await stack.Idp.EventsAsync("revocation"));
        Assert.Equal(2, (await AuditAsync(stack, AuditEvents.AdminSessionEnded)).Count(e => e.Actor == aliceId && e.UserId == bobId));
        Assert.Contains(await AuditAsync(stack, AuditEvents.AdminLookup), e => e.Actor == aliceId && e.UserId == bobId);

        // The operator is still signed in, and the overview reads the queue.
        var overview = await alice.GetAsync($"{stack.Origin}/bff/admin/api/overview", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, overview.Status);
        Assert.Equal(0, JsonDocument.Parse(overview.Body).RootElement.GetProperty("revocationsPending").GetInt64());
    }

    [Fact]
    public async Task AnOperatorFindsAUserByEmailThroughAKeyedHashThatSurvivesAMasterKeyRotation()
    {
        // carol's address is bob's in another spelling (ambiguous once she signs in); mallory claims alice's address
        // but her provider says it is not verified, so it is never indexed.
        static JsonObject Person(string email, bool? verified = true)
        {
            var person = new JsonObject { ["name"] = email, ["email"] = email };
            if (verified is { } stated)
            {
                person["email_verified"] = stated;
            }

            return person;
        }


        await using var stack = await TestStack.StartAsync(
            adjust: Operators,
            idpConfig: (config, _) => config["users"] = new JsonObject
            {
                ["alice"] = Person("alice@example.com"),
                ["bob"] = Person("bob@example.com"),
                ["carol"] = Person("  BOB@Example.COM "),
                ["mallory"] = Person("alice@example.com", verified: false),
                ["ken"] = Person("ken@example.com"),
                ["kelvin"] = Person("\u212Aen@example.com"),
                ["eve"] = Person("dave@example.com", verified: null),
            });
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        using var bob = new BrowserClient();
        await bob.LoginAsync(stack.Origin, "bob");
        using var mallory = new BrowserClient();
        await mallory.LoginAsync(stack.Origin, "mallory");
        using var ken = new BrowserClient();
        await ken.LoginAsync(stack.Origin, "ken");
        var (aliceId, bobId) = (await UserIdAsync(stack, "alice"), await UserIdAsync(stack, "bob"));

        // By e-mail (any case, any surrounding space) answers exactly as by subject.
        var bySubject = await alice.GetAsync($"{stack.Origin}/bff/admin/api/users?provider=main&subject=bob", BrowserClient.Csrf);
        var byEmail = await alice.GetAsync($"{stack.Origin}/bff/admin/api/users?email=%20Bob%40EXAMPLE.com", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, byEmail.Status);
        Assert.Equal(bySubject.Body, byEmail.Body);
        Assert.Equal(bobId, JsonDocument.Parse(byEmail.Body).RootElement.GetProperty("id").GetString());
        var asAlice = await alice.GetAsync($"{stack.Origin}/bff/admin/api/users?email=alice%40example.com", BrowserClient.Csrf);
        Assert.Equal(aliceId, JsonDocument.Parse(asAlice.Body).RootElement.GetProperty("id").GetString());

        var nobody = await alice.GetAsync($"{stack.Origin}/bff/admin/api/users?email=nobody%40example.com", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.NotFound, nobody.Status);
        Assert.Equal("not_found", JsonDocument.Parse(nobody.Body).RootElement.GetProperty("error").GetString());

        // The store holds no address: only 64-hex keyed hashes, and not the plain SHA-256 of an address either.
        var stored = (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT provider, subject, email_hash FROM identities")).ToArray();
        var hashes = stored.Where(r => r[2] is string).Select(r => (string)r[2]!).ToArray();
        Assert.Equal(3, hashes.Length); // alice, bob and ken; mallory's unverified address is not indexed
        Assert.All(hashes, h => Assert.Matches("^[0-9a-f]{64}$", h));
        Assert.DoesNotContain(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("bob@example.com"u8)), hashes);

        // A second user with the same address: 409, and nobody's data in the answer.
        using var carol = new BrowserClient();
        await carol.LoginAsync(stack.Origin, "carol");
        var ambiguous = await alice.GetAsync($"{stack.Origin}/bff/admin/api/users?email=bob%40example.com", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.Conflict, ambiguous.Status);
        Assert.Equal("ambiguous", JsonDocument.Parse(ambiguous.Body).RootElement.GetProperty("error").GetString());
        Assert.DoesNotContain(bobId, ambiguous.Body);

        // Audited under the operator as "by e-mail", with the address nowhere in the audit log or the logs.
        var lookups = await AuditAsync(stack, AuditEvents.AdminLookup);
        Assert.Equal(4, lookups.Count(e => e.Actor == aliceId && e.Detail?.StartsWith("by e-mail", StringComparison.Ordinal) == true));
        Assert.Contains(lookups, e => e.UserId == bobId && e.Detail == "by e-mail" && e.Outcome == AuditOutcomes.Success);
        Assert.Contains(lookups, e => e.Detail == "by e-mail: ambiguous" && e.Outcome == AuditOutcomes.Failed && e.UserId is null);
        Assert.DoesNotContain(lookups, e => $"{e.UserId}{e.Detail}{e.Provider}{e.Actor}".Contains("example", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain("example.com", stack.Gateway.Logs.All, StringComparison.OrdinalIgnoreCase);

        // Security review finding 6: an address the provider makes no verification claim about is not indexed (eve's
        // provider sends dave's address without email_verified), and no Unicode folding makes two addresses one: the
        // KELVIN SIGN (U+212A) lower-cases to 'k' in invariant culture, yet "\u212Aen@" is not ken's address.
        using var eve = new BrowserClient();
        await eve.LoginAsync(stack.Origin, "eve");
        using var kelvin = new BrowserClient();
        await kelvin.LoginAsync(stack.Origin, "kelvin");
        var kenId = await UserIdAsync(stack, "ken");
        var unclaimed = await alice.GetAsync($"{stack.Origin}/bff/admin/api/users?email=dave%40example.com", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.NotFound, unclaimed.Status);
        var byKelvinSign = await alice.GetAsync($"{stack.Origin}/bff/admin/api/users?email=%E2%84%AAen%40example.com", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, byKelvinSign.Status);
        Assert.NotEqual(kenId, JsonDocument.Parse(byKelvinSign.Body).RootElement.GetProperty("id").GetString());
        var byAscii = await alice.GetAsync($"{stack.Origin}/bff/admin/api/users?email=KEN%40example.com", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.OK, byAscii.Status); // not 409: the Kelvin-sign address is another one
        Assert.Equal(kenId, JsonDocument.Parse(byAscii.Body).RootElement.GetProperty("id").GetString());

        // The master key rotates (configured now; the key file becomes a previous key): bob, not signed in since, is
        // still found through the hash under the previous key.
        stack.Settings["Portcullis:KeyProtection:MasterKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await stack.RestartGatewayAsync();
        using var operatorAgain = new BrowserClient();
        await operatorAgain.LoginAsync(stack.Origin, "alice");
        var afterRotation = await operatorAgain.GetAsync($"{stack.Origin}/bff/admin/api/users?email=BOB%40example.com", BrowserClient.Csrf);
        Assert.Equal(HttpStatusCode.Conflict, afterRotation.Status); // bob and carol both, under the previous key
        Assert.Equal(aliceId, JsonDocument.Parse((await operatorAgain.GetAsync($"{stack.Origin}/bff/admin/api/users?email=alice%40example.com", BrowserClient.Csrf)).Body)
            .RootElement.GetProperty("id").GetString());
        var rehashed = await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT email_hash FROM identities WHERE subject = 'alice'");
        Assert.DoesNotContain(rehashed[0][0], hashes); // alice's login wrote her hash under the new key
    }

    [Fact]
    public async Task WithoutAnAdminPolicyThereIsNoOperatorPage()
    {
        await using var stack = await TestStack.StartAsync();
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"{stack.Origin}/bff/admin/api/overview", BrowserClient.Csrf)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"{stack.Origin}/bff/admin", BrowserClient.Csrf)).Status);
    }

    /// <summary>
    /// The API's anti-forgery check comes before anything else, as on every /bff JSON endpoint: a header-less request (an
    /// &lt;img&gt; on a same-site page) used to resolve and touch the session and run the policy (which may call the
    /// provider) first, logging a refused operator, and only then failed the check.
    /// </summary>
    [Fact]
    public async Task TheApiRefusesARequestWithoutTheAntiForgeryHeaderBeforeLookingAtTheSessionOrThePolicy()
    {
        await using var stack = await TestStack.StartAsync(adjust: Operators);
        using var bob = new BrowserClient();
        await bob.LoginAsync(stack.Origin, "bob");

        var forged = await bob.GetAsync($"{stack.Origin}/bff/admin/api/overview");

        Assert.Equal(HttpStatusCode.Forbidden, forged.Status);
        Assert.Contains("\"error\":\"csrf_check_failed\"", forged.Body);
        Assert.DoesNotContain("[5010]", stack.Gateway.Logs.All); // AdminRefused: the policy never ran
    }

    [Fact]
    public async Task ThePageAndItsScriptCallTheApiWithTheConfiguredAntiForgeryHeaderAndBasePath()
    {
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            Operators(s);
            s["Portcullis:Csrf:HeaderName"] = "X-Requested-By";
        });
        using var alice = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");

        var script = await alice.GetAsync($"{stack.Origin}/bff/admin/admin.js");
        var withTheScriptsHeader = await alice.GetAsync($"{stack.Origin}/bff/admin/api/overview", new Dictionary<string, string> { ["X-Requested-By"] = "1" });

        // Before, the script always sent X-CSRF, and every call it made was refused on such a gateway.
        Assert.Equal(HttpStatusCode.OK, script.Status);
        Assert.Contains("const headers = { \"X-Requested-By\": \"1\" };", script.Body);
        Assert.DoesNotContain("X-CSRF", script.Body);
        Assert.Equal(HttpStatusCode.OK, withTheScriptsHeader.Status);
        // Under another BasePath, the page loads its script, and the script calls the API, from there.
        Assert.Contains("<script src=\"/auth/admin/admin.js\"></script>", Portcullis.Endpoints.AdminPage.HtmlFor("/auth"));
        Assert.Contains("const api = \"/auth/admin/api\";", Portcullis.Endpoints.AdminPage.ScriptFor("/auth", "X-CSRF"));
        Assert.DoesNotContain("/bff/", Portcullis.Endpoints.AdminPage.ScriptFor("/auth", "X-CSRF") + Portcullis.Endpoints.AdminPage.HtmlFor("/auth"));
    }

    private static async Task<string> UserIdAsync(TestStack stack, string subject) =>
        (await stack.Gateway.Get<IUserStore>().FindUserAsync("main", subject, CancellationToken.None))!.Id;

    private static Task<IReadOnlyList<AuditRecord>> AuditAsync(TestStack stack, string auditEvent) =>
        stack.Gateway.Get<AuditLog>().QueryAsync(new AuditQuery(Event: auditEvent));

    /// <summary>The handle of the session this browser holds, as the user's own session list marks it.</summary>
    private static async Task<string> OwnHandleAsync(TestStack stack, BrowserClient browser)
    {
        var list = await browser.GetAsync($"{stack.Origin}/bff/sessions", BrowserClient.Csrf);
        return JsonDocument.Parse(list.Body).RootElement.EnumerateArray().Single(s => s.GetProperty("current").GetBoolean()).GetProperty("handle").GetString()!;
    }
}
