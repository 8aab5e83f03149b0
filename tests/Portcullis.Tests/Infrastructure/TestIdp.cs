using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Portcullis.Tests.Infrastructure;

/// <summary>
/// The real `oidc-provider` (npm) on loopback, as a child process configured by <c>IDP_CONFIG</c>
/// (see tests/idp/server.mjs). Tests read what it issued and recorded through its /test endpoints.
/// </summary>
public sealed class TestIdp : IAsyncDisposable
{
    public const string ClientId = "bff";
    public const string ClientSecret = "bff-secret";
    public const string Password = "password";

    private Process _process;
    private readonly string _script;
    private readonly JsonObject _config;

    private TestIdp(Process process, int port, string issuer, string script, JsonObject config)
    {
        _process = process;
        _script = script;
        _config = config;
        Port = port;
        Issuer = issuer;
        // The /test endpoints are always asked directly, also when the issuer is a fault proxy in front of the provider.
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public int Port { get; }

    public string Issuer { get; }

    public HttpClient Http { get; }

    /// <summary>
    /// Starts the provider with one client whose redirect URIs point at <paramref name="gatewayOrigins"/>. With
    /// <paramref name="issuerPort"/> its issuer (and so every endpoint it advertises) is on that port, where a
    /// <see cref="FaultProxy"/> forwards to it: then every call the gateway makes to the provider crosses the proxy.
    /// With <paramref name="persistent"/> it keeps its grants, tokens, sessions, keys and record in a directory of its own
    /// (tests/idp/server.mjs <c>stateDirectory</c>), so <see cref="Kill"/> and <see cref="RestartAsync"/> behave as a real
    /// provider with a database would.
    /// </summary>
    public static async Task<TestIdp> StartAsync(
        IEnumerable<string> gatewayOrigins,
        string clientAuthentication = "client_secret_basic",
        int accessTokenTtl = 120,
        int? port = null,
        int? refreshedAccessTokenTtl = null,
        int? issuerPort = null,
        Action<JsonObject>? adjustConfig = null,
        bool persistent = false)
    {
        var script = Path.Combine(RepositoryPaths.Root, "tests", "idp", "server.mjs");
        if (!Directory.Exists(Path.Combine(RepositoryPaths.Root, "tests", "idp", "node_modules", "oidc-provider")))
        {
            throw new InvalidOperationException("The test IdP's npm packages are missing: run ./test.sh (or `npm ci` in tests/idp).");
        }

        var origins = gatewayOrigins.ToArray();
        // A node process that does not come up in time is replaced (on a new port unless one was asked for): a rare
        // stalled start on a busy machine must not fail a test that is about something else.
        for (var attempt = 1; ; attempt++)
        {
            var actualPort = port ?? FreePort.Next();
            try
            {
                var issuer = $"http://127.0.0.1:{issuerPort ?? actualPort}";
                var config = Config(actualPort, origins, clientAuthentication, accessTokenTtl, refreshedAccessTokenTtl ?? accessTokenTtl);
                config["issuer"] = issuer;
                adjustConfig?.Invoke(config);
                if (persistent)
                {
                    config["stateDirectory"] = Directory.CreateTempSubdirectory("portcullis-idp-").FullName;
                }

                var process = await LaunchAsync(script, config, TimeSpan.FromSeconds(30));
                return new TestIdp(process, actualPort, issuer, script, config);
            }
            catch (Exception exception) when (attempt < 3 && (exception is TimeoutException || (exception is InvalidOperationException && port is null)))
            {
                // Stalled, or lost its port to another process: try again.
            }
        }
    }

    private static JsonObject Config(int port, string[] origins, string clientAuthentication, int accessTokenTtl, int refreshedAccessTokenTtl) => new()
    {
        ["port"] = port,
        ["accessTokenTtl"] = accessTokenTtl,
        ["refreshedAccessTokenTtl"] = refreshedAccessTokenTtl,
        ["clients"] = new JsonArray(new JsonObject
        {
            ["client_id"] = ClientId,
            ["client_secret"] = ClientSecret,
            ["token_endpoint_auth_method"] = clientAuthentication,
            ["redirect_uris"] = new JsonArray(origins.Select(o => (JsonNode)JsonValue.Create($"{o}/bff/callback/main")!).ToArray()),
            ["post_logout_redirect_uris"] = new JsonArray(origins.Select(o => (JsonNode)JsonValue.Create($"{o}/")!).ToArray()),
            ["backchannel_logout_uri"] = $"{origins[0]}/bff/backchannel-logout/main",
            ["backchannel_logout_session_required"] = true,
            ["grant_types"] = new JsonArray("authorization_code", "refresh_token", "client_credentials"),
            ["response_types"] = new JsonArray("code"),
        }),
    };

    /// <summary>Starts node and waits for its <c>IDP_LISTENING</c> line; a stalled start is killed and reported as a timeout.</summary>
    private static async Task<Process> LaunchAsync(string script, JsonObject config, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("node", script)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["IDP_CONFIG"] = config.ToJsonString();
        var process = Process.Start(start) ?? throw new InvalidOperationException("node could not be started; is Node.js installed?");
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
        process.BeginErrorReadLine();

        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var line = await process.StandardOutput.ReadLineAsync(deadline.Token);
                if (line is null)
                {
                    throw new InvalidOperationException("The test IdP exited before listening: " + stderr);
                }

                if (line.StartsWith("IDP_LISTENING", StringComparison.Ordinal))
                {
                    _ = process.StandardOutput.ReadToEndAsync();
                    return process;
                }
            }
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw new TimeoutException($"The test IdP did not listen within {timeout.TotalSeconds} s: {stderr}");
        }
    }

    /// <summary>The one registered client of <paramref name="config"/> (for adjustments such as its authentication method).</summary>
    public static JsonObject Client(JsonObject config) => config["clients"]![0]!.AsObject();

    public async Task<JsonElement[]> EventsAsync(string? type = null)
    {
        var events = await Http.GetFromJsonAsync<JsonElement[]>("/test/events") ?? [];
        return type is null ? events : events.Where(e => e.GetProperty("type").GetString() == type).ToArray();
    }

    public async Task<IssuedTokens[]> TokensAsync()
    {
        var tokens = await Http.GetFromJsonAsync<JsonElement[]>("/test/tokens") ?? [];
        return tokens.Select(t => new IssuedTokens(
            t.GetProperty("grant_type").GetString()!,
            Optional(t, "access_token"),
            Optional(t, "refresh_token"),
            Optional(t, "id_token"))).ToArray();
    }

    /// <summary>The <c>token_type</c> of every token response so far (<c>Bearer</c>, or <c>DPoP</c> for bound tokens).</summary>
    public async Task<string?[]> TokenTypesAsync() =>
        (await Http.GetFromJsonAsync<JsonElement[]>("/test/tokens") ?? []).Select(t => Optional(t, "token_type")).ToArray();

    /// <summary>Every token value the provider has handed out so far.</summary>
    public async Task<string[]> AllTokenValuesAsync() =>
        (await TokensAsync()).SelectMany(t => new[] { t.AccessToken, t.RefreshToken, t.IdToken }).OfType<string>().ToArray();

    public Task ResetAsync() => Http.PostAsync("/test/reset", null);

    /// <summary>
    /// Simulates an outage of the provider's protocol endpoints while it keeps its state: <c>down</c> drops every
    /// connection, <c>hang</c> never answers, <c>up</c> serves again. The /test endpoints always answer.
    /// </summary>
    public async Task SetOutageAsync(string mode)
    {
        using var response = await Http.PostAsJsonAsync("/test/outage", new { mode });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>
    /// Freezes the provider process (SIGSTOP), as a stalled VM or a long GC pause would: connections are accepted by
    /// the kernel and requests wait in its sockets, to be processed — and answered late — after <see cref="Resume"/>.
    /// </summary>
    public void Pause() => Signal(SigStop);

    /// <summary>Lets a paused provider run again (SIGCONT); it then handles what arrived meanwhile.</summary>
    public void Resume() => Signal(SigCont);

    private const int SigCont = 18; // Linux x86_64 and arm64
    private const int SigStop = 19;

    private void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Kills the provider process at once (SIGKILL), as a crash or an OOM kill would: what it had read and not
    /// answered is lost, the connections to it are reset, new ones are refused until <see cref="RestartAsync"/>.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>Starts the provider again on the same port and issuer after <see cref="KillAsync"/>; with a persistent
    /// provider (see <see cref="StartAsync"/>) it honours everything it issued before.</summary>
    public async Task RestartAsync()
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException("The test IdP is still running: kill it first.");
        }

        // Launched first: if it fails, the exited process stays for DisposeAsync and the launch's own error is what
        // the test reports (a disposed one made DisposeAsync throw and hide it).
        var next = await LaunchAsync(_script, _config, TimeSpan.FromSeconds(30));
        _process.Dispose();
        _process = next;
    }

    /// <summary>
    /// A signing-key rollover: the provider is killed and comes back with a new signing key under a new <c>kid</c>, and
    /// everything else it had issued (grants, refresh tokens, sessions). Only a persistent provider keeps those.
    /// </summary>
    public async Task RotateSigningKeyAsync()
    {
        var state = _config["stateDirectory"]?.GetValue<string>()
            ?? throw new InvalidOperationException("Only a persistent test IdP keeps its grants through a key rotation.");
        await KillAsync();
        File.Delete(Path.Combine(state, "jwks.json"));
        await RestartAsync();
    }

    /// <summary>
    /// Waits until a connection to the provider holds bytes its process has not read (Linux /proc/net/tcp): with the
    /// provider paused, a request the gateway has sent and the provider has not handled.
    /// </summary>
    public async Task WaitUntilUnreadRequestAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (UnreadBytes() == 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("No request waited unread in the provider's socket.");
            }

            await Task.Delay(50); // real: polls the kernel's view of the provider's sockets
        }
    }

    private long UnreadBytes()
    {
        long unread = 0;
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            // sl local_address rem_address st tx_queue:rx_queue ...; addresses as HEXIP:HEXPORT, state 01 = established.
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var localPort = Convert.ToInt32(fields[1][(fields[1].IndexOf(':') + 1)..], 16);
            if (localPort == Port && fields[3] == "01")
            {
                unread += Convert.ToInt64(fields[4][(fields[4].IndexOf(':') + 1)..], 16);
            }
        }

        return unread;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Makes the provider send real logout tokens for the account's sessions to the client's back-channel URI.</summary>
    public async Task<JsonElement> SendBackchannelLogoutAsync(string accountId)
    {
        using var response = await Http.PostAsJsonAsync("/test/backchannel-logout", new { accountId, clientId = ClientId });
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>A JWS signed with the provider's own signing key: lets a test forge tokens the provider never issued.</summary>
    public async Task<string> SignAsync(object payload, object? header = null)
    {
        using var response = await Http.PostAsJsonAsync("/test/sign", new { payload, header });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jws").GetString()!;
    }

    /// <summary>
    /// Makes the next authorization-code exchange answer with a forged <c>id_token</c> derived from the real one
    /// (<c>bad-signature</c>, <c>alg-none</c>, <c>hs256-with-public-key</c>, <c>wrong-iss</c>, <c>wrong-aud</c>,
    /// <c>wrong-azp</c>, <c>wrong-nonce</c>, <c>expired</c>, <c>future-iat</c>, <c>auth-time-in-milliseconds</c>, or <c>foreign</c>: signed with
    /// <paramref name="foreignKey"/>, another provider's <see cref="SigningKeyAsync"/>).
    /// </summary>
    public async Task ForgeNextIdTokenAsync(string mode, JsonElement? foreignKey = null, string grantType = "authorization_code")
    {
        using var response = await Http.PostAsJsonAsync("/test/forge-id-token", new { mode, foreignKey, grantType });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>
    /// The next successful answer to a token request of <paramref name="grantType"/> gets <paramref name="patch"/> merged
    /// into its JSON (JSON nulls kept), or is replaced by <paramref name="body"/> verbatim. The provider made its real
    /// answer first: a refresh token it rotated is spent either way.
    /// </summary>
    public async Task RewriteNextTokenAnswerAsync(string grantType, JsonObject? patch = null, string? body = null)
    {
        var request = new JsonObject { ["grantType"] = grantType, ["patch"] = patch, ["body"] = body };
        using var response = await Http.PostAsync("/test/rewrite-token-answer", new StringContent(request.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    /// <summary>From now on every userinfo answer also carries <paramref name="claims"/> (a provider that claims more than it should).</summary>
    public async Task AddUserInfoClaimsAsync(object claims)
    {
        using var response = await Http.PostAsJsonAsync("/test/userinfo-extra", new { claims });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>This provider's private signing key (JWK) and issuer, for minting tokens "as" it elsewhere.</summary>
    public async Task<JsonElement> SigningKeyAsync() => await Http.GetFromJsonAsync<JsonElement>("/test/signing-key");

    public Task RevokeGrantAsync(string accountId) => Http.PostAsJsonAsync("/test/revoke-grant", new { accountId });

    /// <summary>Asks the provider's introspection endpoint whether a token is active.</summary>
    public async Task<bool> IsActiveAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/token/introspection")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes($"{ClientId}:{ClientSecret}")));
        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("active").GetBoolean();
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        if (_config["stateDirectory"]?.GetValue<string>() is { } state)
        {
            try
            {
                Directory.Delete(state, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string? Optional(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

public sealed record IssuedTokens(string GrantType, string? AccessToken, string? RefreshToken, string? IdToken);
