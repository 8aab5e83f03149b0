using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Portcullis.Sessions;
using Portcullis.Storage;
using Portcullis.Tests.Infrastructure;
using Portcullis.Vault;
using Xunit.Abstractions;

namespace Portcullis.Tests.Sessions;

/// <summary>
/// ADR 0033 (issue 15 item 2): stateless cookies are sealed with the key ring and bound to their name and purpose;
/// a large value is chunked under the browser's limit and a changed, dropped or swapped chunk is refused. The sizes of
/// the test provider's real tokens in this layout are measured here and written in the ADR.
/// </summary>
public sealed class StatelessCookieTests(ITestOutputHelper output)
{
    private const string SessionCookie = "__Host-portcullis";
    private const string RefreshCookie = "__Secure-portcullis-rt";

    private static readonly SessionData Data = new("user-1", "grant-1", "alice", [], "Mozilla/5.0");

    private static StatelessCookieCodec Codec(IDataProtectionProvider? provider = null)
    {
        if (provider is null)
        {
            var services = new ServiceCollection();
            DataProtectionSetup.Configure(services);
            provider = services.BuildServiceProvider().GetRequiredService<IDataProtectionProvider>();
        }

        return new StatelessCookieCodec(provider);
    }

    private static StatelessSessionPayload Payload(string accessToken) =>
        new(Data, new TokenSet(accessToken, null, "id", DateTimeOffset.UnixEpoch, "openid"), DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddHours(12));

    [Fact]
    public void AValueOpensOnlyUnderItsOwnCookieName()
    {
        var codec = Codec();
        var sealedValue = codec.Seal(SessionCookie, Payload("at"), StatelessJsonContext.Default.StatelessSessionPayload);

        Assert.Equal("at", codec.Open(SessionCookie, sealedValue, StatelessJsonContext.Default.StatelessSessionPayload)?.Tokens.AccessToken);
        Assert.Null(codec.Open(RefreshCookie, sealedValue, StatelessJsonContext.Default.StatelessSessionPayload));
        Assert.Null(codec.Open(SessionCookie + "C1", sealedValue, StatelessJsonContext.Default.StatelessSessionPayload));
    }

    [Fact]
    public void ChangedMalformedAndForeignValuesAreRefusedWithoutAnException()
    {
        var services = new ServiceCollection();
        DataProtectionSetup.Configure(services);
        var provider = services.BuildServiceProvider().GetRequiredService<IDataProtectionProvider>();
        var codec = Codec(provider);
        var sealedValue = codec.Seal(SessionCookie, Payload("at"), StatelessJsonContext.Default.StatelessSessionPayload);
        // A server-mode session record sealed by the same key ring under its own purpose.
        var foreign = Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode(
            provider.CreateProtector(ProtectionPurposes.SessionData).CreateProtector(SessionCookie).Protect([1, 2, 3]));

        string?[] variants =
        [
            null, "", "x", "chunks-2", "%00", sealedValue[..^1], sealedValue + "A",
            sealedValue[..20] + (sealedValue[20] == 'A' ? 'B' : 'A') + sealedValue[21..],
            foreign,
        ];
        foreach (var variant in variants)
        {
            Assert.Null(codec.Open(SessionCookie, variant, StatelessJsonContext.Default.StatelessSessionPayload));
        }
    }

    [Fact]
    public void ALargeValueIsChunkedUnderTheLimitAndAChangedOrMissingChunkIsRefused()
    {
        var codec = Codec();
        var sealedValue = codec.Seal(SessionCookie, Payload(new string('t', 9000)), StatelessJsonContext.Default.StatelessSessionPayload);
        var setCookies = Write(codec, SessionCookie, sealedValue);

        Assert.True(setCookies.Count >= 3, $"{setCookies.Count} cookies");
        Assert.All(setCookies, c => Assert.True(c.Length <= StatelessCookieCodec.ChunkSize, $"{c.Length} characters"));
        var jar = Jar(setCookies);
        Assert.Equal(9000, codec.Open(SessionCookie, Read(codec, jar), StatelessJsonContext.Default.StatelessSessionPayload)?.Tokens.AccessToken.Length);

        var swapped = new Dictionary<string, string>(jar) { [SessionCookie + "C1"] = jar[SessionCookie + "C2"], [SessionCookie + "C2"] = jar[SessionCookie + "C1"] };
        var dropped = new Dictionary<string, string>(jar);
        dropped.Remove(SessionCookie + "C2");
        var truncated = new Dictionary<string, string>(jar) { [SessionCookie + "C1"] = jar[SessionCookie + "C1"][..^4] };
        foreach (var attack in new[] { swapped, dropped, truncated })
        {
            Assert.Null(codec.Open(SessionCookie, Read(codec, attack), StatelessJsonContext.Default.StatelessSessionPayload));
        }
    }

    [Fact]
    public async Task TheTestProvidersTokensFitTheBudgetMeasured()
    {
        // Real tokens from oidc-provider (JWT access and ID tokens, opaque refresh token), sealed as ADR 0033 lays them out.
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin, "alice");
        var sessionKey = Identifiers.Hash(browser.CookiesFor("localhost")[SessionCookie]);
        var (record, grant) = (await stack.Gateway.Get<ISessionStore>().GetSessionAndGrantAsync(sessionKey, DateTimeOffset.UtcNow, CancellationToken.None))!;
        var data = stack.Gateway.Get<RecordProtector<SessionData>>().Unprotect(record.Data, record.Key)!;
        var tokens = stack.Gateway.Get<RecordProtector<TokenSet>>().Unprotect(grant!.Tokens, grant.Id)!;
        Assert.NotNull(tokens.RefreshToken);
        var codec = stack.Gateway.Get<StatelessCookieCodec>();

        var session = Write(codec, SessionCookie, codec.Seal(SessionCookie,
            new StatelessSessionPayload(data, tokens with { RefreshToken = null }, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddHours(12)),
            StatelessJsonContext.Default.StatelessSessionPayload));
        var refresh = Write(codec, RefreshCookie, codec.Seal(RefreshCookie,
            new StatelessRefreshPayload(tokens.RefreshToken!, grant.Id, DateTimeOffset.UtcNow.AddHours(12)),
            StatelessJsonContext.Default.StatelessRefreshPayload));

        var all = session.Concat(refresh).ToList();
        output.WriteLine($"access token {tokens.AccessToken.Length}, id token {tokens.IdToken?.Length}, refresh token {tokens.RefreshToken!.Length} characters");
        output.WriteLine($"session cookie(s): {string.Join(" + ", session.Select(c => c.Length))}; refresh cookie: {string.Join(" + ", refresh.Select(c => c.Length))}; all Set-Cookie values {all.Sum(c => c.Length)}");
        Assert.All(all, c => Assert.True(c.Length < 4096, $"a cookie of {c.Length} characters"));
        Assert.True(all.Sum(c => c.Length) < 8192, $"{all.Sum(c => c.Length)} characters in all");
    }

    private static List<string> Write(StatelessCookieCodec codec, string name, string sealedValue)
    {
        var context = new DefaultHttpContext();
        codec.Append(context, name, sealedValue, new CookieOptions { HttpOnly = true, Secure = true, SameSite = SameSiteMode.Strict, Path = "/" });
        return context.Response.Headers.SetCookie.Select(v => v!).ToList();
    }

    private static Dictionary<string, string> Jar(IEnumerable<string> setCookies) =>
        setCookies.Select(c => c.Split(';')[0].Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    private static string? Read(StatelessCookieCodec codec, Dictionary<string, string> jar)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Cookie = string.Join("; ", jar.Select(p => $"{p.Key}={p.Value}"));
        return codec.Read(context, SessionCookie);
    }
}
