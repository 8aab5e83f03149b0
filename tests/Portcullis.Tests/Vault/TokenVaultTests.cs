using System.Net;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Vault;

/// <summary>SECURITY.md items 20–21: tokens at rest are encrypted, bound to their record, and never in clear on disk or in logs.</summary>
public sealed class TokenVaultTests
{
    [Theory]
    [InlineData("sessions", "data", "key")]
    [InlineData("grants", "tokens", "id")]
    public async Task CiphertextCopiedIntoAnotherRowDoesNotDecryptThere(string table, string column, string keyColumn)
    {
        await using var stack = await TestStack.StartAsync();
        using var alice = new BrowserClient();
        using var bob = new BrowserClient();
        await alice.LoginAsync(stack.Origin, "alice");
        await bob.LoginAsync(stack.Origin, "bob");
        var bobsRow = table == "sessions"
            ? "(SELECT s.key FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.subject = 'bob')"
            : "(SELECT g.id FROM grants g JOIN users u ON u.id = g.user_id WHERE u.subject = 'bob')";
        var alicesRow = bobsRow.Replace("'bob'", "'alice'", StringComparison.Ordinal);

        await SqliteRows.ExecuteAsync(stack.Gateway.DataDirectory,
            $"UPDATE {table} SET {column} = (SELECT {column} FROM {table} WHERE {keyColumn} = {alicesRow}) WHERE {keyColumn} = {bobsRow}");
        var before = await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, $"SELECT * FROM {table} ORDER BY {keyColumn}");

        var response = await bob.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.DoesNotContain("alice", response.Body);
        var after = await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, $"SELECT * FROM {table} ORDER BY {keyColumn}");
        Assert.Equal(before.Count, after.Count);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Fact]
    public async Task TamperedCiphertextGets401NotAServerError()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        await SqliteRows.ExecuteAsync(stack.Gateway.DataDirectory, "UPDATE grants SET tokens = substr(tokens, 1, length(tokens) - 1) || X'00'");

        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    [Fact]
    public async Task NoTokenCodeSecretOrCookieAppearsInResponsesStoreFilesOrLogs()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        var callback = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login", "alice");
        await browser.GetAsync(callback);
        await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        var code = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(callback).Query)["code"].ToString();
        var tokens = await stack.Idp.AllTokenValuesAsync();
        Assert.Equal(3, tokens.Length);

        var gatewayResponses = string.Join('\n', browser.Responses.Where(r => r.Uri.Host == "localhost").Select(r => r.Everything));
        var files = SqliteRows.ReadAllFiles(stack.Gateway.DataDirectory);
        var logs = stack.Gateway.Logs.All;
        Assert.NotEmpty(logs);

        foreach (var secret in tokens.Append(code).Append(TestIdp.ClientSecret))
        {
            Assert.DoesNotContain(secret, gatewayResponses);
            Assert.DoesNotContain(secret, files);
            Assert.DoesNotContain(secret, logs);
        }

        Assert.DoesNotContain(cookie, files);
        Assert.DoesNotContain(cookie, logs);

        await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);
        var logoutResponses = string.Join('\n', browser.Responses.Select(r => r.Everything));
        foreach (var token in tokens)
        {
            Assert.DoesNotContain(token, logoutResponses[gatewayResponses.Length..]);
        }
    }

    /// <summary>
    /// Issue 17 item 8: whatever a host's log levels (here every category at Trace, ASP.NET Core's request logging and
    /// HttpClient's included), no code, state, token, secret or cookie value reaches a log, through login, an API call,
    /// a refresh and logout.
    /// </summary>
    [Fact]
    public async Task WithEveryLogCategoryAtTraceNoCodeStateTokenOrCookieIsLogged()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 2, adjust: settings =>
        {
            TestStack.OrdersRoute(upstream.Url)(settings);
            settings["Logging:LogLevel:Default"] = "Trace";
            settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace";
            settings["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace";
            settings["Logging:LogLevel:Yarp"] = "Trace";
        });
        using var browser = new BrowserClient();
        var callback = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login", "alice");
        await browser.GetAsync(callback);
        await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf);
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // real: the provider's clock decides the 2 s token; due after half
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders", BrowserClient.Csrf)).Status);
        await browser.SendAsync(HttpMethod.Post, $"{stack.Origin}/bff/logout", null, BrowserClient.Csrf);
        await Eventually.RevocationsSentAsync(stack.Gateway);

        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(callback).Query);
        var cookies = browser.CookiesFor("localhost").Values;
        var logs = stack.Gateway.Logs.All;
        Assert.Contains("/bff/callback/main?[redacted]", logs); // the request logging is on, and says where the query was
        var secrets = (await stack.Idp.AllTokenValuesAsync())
            .Append(query["code"].ToString()).Append(query["state"].ToString()).Append(TestIdp.ClientSecret).Concat(cookies);
        foreach (var secret in secrets)
        {
            if (logs.Contains(secret, StringComparison.Ordinal))
            {
                Assert.Fail($"a secret is in the logs: {Line(logs, secret)}");
            }
        }
    }

    private static string Line(string logs, string secret) =>
        logs.Split('\n').First(l => l.Contains(secret, StringComparison.Ordinal)).Replace(secret, "<SECRET>", StringComparison.Ordinal);

    [Fact]
    public async Task RotatingTheKeyLogsNobodyOut()
    {
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        var keyManager = stack.Gateway.Get<Microsoft.AspNetCore.DataProtection.KeyManagement.IKeyManager>();
        var newKey = keyManager.CreateNewKey(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(90));
        await stack.RestartGatewayAsync();

        Assert.Equal(2, Directory.GetFiles(Path.Combine(stack.Gateway.DataDirectory, "keys"), "key-*.xml").Length);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        using var later = new BrowserClient();
        await later.LoginAsync(stack.Origin, "bob");
        Assert.Equal(HttpStatusCode.OK, (await later.GetAsync($"{stack.Origin}/bff/user", BrowserClient.Csrf)).Status);
        Assert.NotEqual(Guid.Empty, newKey.KeyId);
    }
}
