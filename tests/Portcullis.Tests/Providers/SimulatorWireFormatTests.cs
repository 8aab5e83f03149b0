using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Portcullis.Simulators;

namespace Portcullis.Tests.Providers;

/// <summary>
/// The simulators answer in the providers' documented formats, so the preset tests mean something: GitHub's
/// form-encoded default, Discord's guild-member endpoint (for the later access-policy phase) and its 429.
/// </summary>
public sealed class SimulatorWireFormatTests
{
    private static readonly SimulatedClient Client = new("app", "app-secret", ["http://localhost:1/bff/callback/x"]);

    [Fact]
    public async Task GitHubAnswersTheTokenEndpointFormEncodedUnlessAskedForJsonAndErrorsWithHttp200()
    {
        await using var github = new GitHubSimulator(Client);
        await github.StartAsync();
        using var http = new HttpClient();
        var form = new Dictionary<string, string> { ["client_id"] = "app", ["client_secret"] = "app-secret", ["code"] = "unknown" };

        using var plain = await http.PostAsync(github.TokenEndpoint, new FormUrlEncodedContent(form));
        using var request = new HttpRequestMessage(HttpMethod.Post, github.TokenEndpoint) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var json = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal("application/x-www-form-urlencoded", plain.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("error=bad_verification_code&error_description=", await plain.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        var body = JsonDocument.Parse(await json.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("bad_verification_code", body.GetProperty("error").GetString());
        Assert.Equal("The code passed is incorrect or expired.", body.GetProperty("error_description").GetString());
    }

    [Fact]
    public async Task GitHubsApiRefusesRequestsWithoutAUserAgent()
    {
        await using var github = new GitHubSimulator(Client);
        await github.StartAsync();
        using var http = new HttpClient();

        using var response = await http.GetAsync($"{github.ApiUrl}/user");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("User-Agent", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task DiscordsGuildMemberEndpointShowsRolesNeedsItsScopeAndFollowsRoleChanges()
    {
        await using var discord = new DiscordSimulator(Client);
        await discord.StartAsync();
        discord.Users["nelly"].GuildRoles["613425648685547541"] = ["41771983423143936", "41771983423143937"];
        var withScope = discord.Tokens.IssueAccessToken(discord.Users["nelly"], "identify guilds.members.read", null, "f1", string.Empty);
        var withoutScope = discord.Tokens.IssueAccessToken(discord.Users["nelly"], "identify", null, "f2", string.Empty);

        var member = await GetAsync(discord, "/users/@me/guilds/613425648685547541/member", withScope);
        var otherGuild = await GetAsync(discord, "/users/@me/guilds/1/member", withScope);
        var noScope = await GetAsync(discord, "/users/@me/guilds/613425648685547541/member", withoutScope);
        discord.Users["nelly"].GuildRoles["613425648685547541"] = [];
        var demoted = await GetAsync(discord, "/users/@me/guilds/613425648685547541/member", withScope);

        Assert.Equal(HttpStatusCode.OK, member.Status);
        Assert.Equal(["41771983423143936", "41771983423143937"], member.Body.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("80351110224678912", member.Body.GetProperty("user").GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.NotFound, otherGuild.Status);
        Assert.Equal(10004, otherGuild.Body.GetProperty("code").GetInt32());
        Assert.Equal(HttpStatusCode.Forbidden, noScope.Status);
        Assert.Equal(50001, noScope.Body.GetProperty("code").GetInt32());
        Assert.Empty(demoted.Body.GetProperty("roles").EnumerateArray());
    }

    [Fact]
    public async Task DiscordsRateLimitAnswerCarriesRetryAfterInBodyAndHeaders()
    {
        await using var discord = new DiscordSimulator(Client) { RetryAfterSeconds = 0.75 };
        await discord.StartAsync();
        var token = discord.Tokens.IssueAccessToken(discord.Users["nelly"], "identify", null, "f", string.Empty);
        discord.RateLimitApiRequests(1);

        var limited = await GetAsync(discord, "/users/@me", token);
        var next = await GetAsync(discord, "/users/@me", token);

        Assert.Equal((HttpStatusCode)429, limited.Status);
        Assert.Equal(0.75, limited.Body.GetProperty("retry_after").GetDouble());
        Assert.False(limited.Body.GetProperty("global").GetBoolean());
        Assert.Equal("1", limited.Headers["Retry-After"]);
        Assert.Equal("0", limited.Headers["X-RateLimit-Remaining"]);
        Assert.Equal(HttpStatusCode.OK, next.Status);
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body, Dictionary<string, string> Headers)> GetAsync(DiscordSimulator discord, string path, string token)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, discord.ApiUrl + path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        var headers = response.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone(), headers);
    }
}
