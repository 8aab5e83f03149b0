using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Portcullis.Configuration;
using Portcullis.Primitives;
using Portcullis.Sessions;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Sessions;

/// <summary>
/// The session cookie is read from the raw header without the request's cookie dictionary (issue 18); whatever the header,
/// the value must be the one ASP.NET Core's parser gives, or a tossed or doctored cookie could be read differently by the
/// gateway than by the framework it runs in.
/// </summary>
public sealed class SessionCookieReadTests
{
    private const string Name = SessionCookieDefaults.HostName;

    private static readonly SingleCookie Reader = new(Name);
    private const string Plain = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo";

    private static readonly SessionCookies Cookies = new(Options.Create(new PortcullisOptions()));

    public static TheoryData<string[]> Headers => new()
    {
        { [$"{Name}={Plain}"] },
        { [$"a=b; {Name}={Plain}; c=d"] },
        { [$"a=b; {Name}={Plain}"] },
        { ["a=b; c=d"] },
        { [$"{Name}={Plain}; {Name}=other"] },
        { [$"{Name}=other; {Name}={Plain}"] },
        { [$"{Name.ToLowerInvariant()}=other; {Name}={Plain}"] },
        { [$"{Name}={Plain}; {Name.ToUpperInvariant()}=other"] },
        { [$"{Name}={Plain}", $"{Name}=other"] },
        { ["a=b", $"{Name}={Plain}"] },
        { [$"{Name.ToUpperInvariant()}={Plain}"] },
        { [$"{Name}=\"{Plain}\""] },
        { [$"{Name}={Plain}%41"] },
        { [$"{Name}=%41{Plain}"] },
        { [$"{Name}="] },
        { [$"{Name}=; a=b"] },
        { [$"{Name}={Plain} ; a=b"] },
        { [$"{Name}={Plain},a=b"] },
        { [$"a=b,{Name}={Plain}"] },
        { [$"a=b;{Name}={Plain}"] },
        { [$"a=b, {Name}={Plain}"] },
        { [$" {Name}={Plain}"] },
        { [$"x{Name}={Plain}"] },
        { [$"a=\"x; {Name}={Plain}\""] },
        { [$"a=b c{Name}={Plain}"] },
        { [$"a={Name}; {Name}={Plain}"] },
        { [$"{Name}x={Plain}"] },
        { [$"{Name} ={Plain}"] },
        { [$"{Name}={Plain}\""] },
        { [$"{Name}={Plain}.{Plain}"] },
        { [$"{Name}={Plain};"] },
        { [$"{Name}={Plain};;; a=b"] },
        { [$"{Name}={Plain}\u00e9"] },
        { [""] },
        { [] },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void TheGatewayReadsTheSessionCookieAsTheFrameworkDoes(string[] header)
    {
        Assert.Equal(ParserValue(header), Cookies.ReadSession(Request(header)));
    }

    [Fact]
    public void AGeneratedMixOfSeparatorsCasesQuotesEscapesAndDuplicatesIsReadAsTheFrameworkReadsIt()
    {
        // Fragments that each parse differently; the header is a random sequence of them (fixed seed: reproducible).
        // Weighted towards what browsers send, so that a good share of headers is plain enough to be read directly.
        string[] names =
        [
            Name, Name, "a", "_ga", "theme", Name.ToLowerInvariant(), Name.ToUpperInvariant(), Name + "x", "x" + Name,
            Name + "-login", Name + "-tx-1", Name + "\u00e9", "__Host-portculli\u017f", "__Host-portc\u0131llis", Name + "\t", "\"" + Name,
        ];
        string[] values = [Plain, Plain, Plain, "", "\"" + Plain + "\"", Plain + "%3D", "a b", "\"open", Plain + "." + Plain, "v,w", Name, "=" + Plain, Plain + "=="];
        string[] separators = ["; ", "; ", "; ", ";", ", ", ",", " ; ", " ", ";  ", "\t; ", ";\t"];
        var random = new Random(18);
        var answeredFromTheHeader = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var header = new string[random.Next(4) == 0 ? 2 : 1];
            for (var v = 0; v < header.Length; v++)
            {
                var parts = new List<string>();
                for (var c = random.Next(0, 3); c >= 0; c--)
                {
                    parts.Add(names[random.Next(names.Length)] + "=" + values[random.Next(values.Length)]);
                    parts.Add(separators[random.Next(separators.Length)]);
                }

                header[v] = string.Concat(parts.Take(parts.Count - (random.Next(2) == 0 ? 1 : 0)));
            }

            var expected = ParserValue(header);
            Assert.True(expected == Cookies.ReadSession(Request(header)), $"Header [{string.Join(" | ", header)}]: the parser reads '{expected}'.");
            if (Reader.TryRead(new StringValues(header), out var direct) && direct is not null)
            {
                answeredFromTheHeader++;
            }
        }

        // The generator must reach the header path, or this test would only compare the parser with itself.
        Assert.True(answeredFromTheHeader > 200, $"only {answeredFromTheHeader} headers were answered without the parser");
    }

    [Fact]
    public void APlainSessionCookieIsReadWithoutBuildingTheCookieDictionary()
    {
        var request = Request([$"_ga=GA1.2.1234567890.1234567890; theme=dark; {Name}={Plain}; consent=yes"]);

        Assert.Equal(Plain, Cookies.ReadSession(request));
        Assert.Null(request.HttpContext.Features.Get<IRequestCookiesFeature>());
    }

    [Fact]
    public void ALoginBindingCookieWhoseNameStartsWithTheSessionCookiesIsAnotherCookie()
    {
        // The name followed by a token character cannot be read as the session cookie's name, so it does not count.
        var request = Request([$"{Name}-login=abc; {Name}={Plain}; {Name}-tx-1=def"]);

        Assert.True(Reader.TryRead(request.Headers.Cookie, out var value));
        Assert.Equal(Plain, value);
        Assert.Equal(request.Cookies[Name], value);
    }

    [Fact]
    public void TwoSessionCookiesOfOneNameGoToTheFrameworkParser()
    {
        // How a sibling host's tossed cookie arrives: the gateway must not pick a different one than the framework.
        var request = Request([$"{Name}=tossed; {Name}={Plain}"]);

        Assert.False(Reader.TryRead(request.Headers.Cookie, out _));
        Assert.Equal(request.Cookies[Name], Cookies.ReadSession(request));
    }

    [Fact]
    public async Task ATossedSecondSessionCookieIsJudgedAsTheFrameworkReadsItAndChangesNothing()
    {
        // The attack: a second cookie of the session cookie's name next to the real one (a sibling host's tossed cookie,
        // or one a script set). The gateway must read the one ASP.NET Core reads (the last), refuse it when it is forged,
        // and leave the real session as it was.
        await using var stack = await TestStack.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var real = browser.CookiesFor("localhost")[Name];
        var forged = new string('A', real.Length);
        var sessionsBefore = await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key, last_seen_at FROM sessions");
        using var http = new HttpClient();

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, await UserStatusAsync(http, stack.Origin, $"{Name}={real}; {Name}={forged}"));
        Assert.Equal(System.Net.HttpStatusCode.OK, await UserStatusAsync(http, stack.Origin, $"{Name}={forged}; {Name}={real}"));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, await UserStatusAsync(http, stack.Origin, $"{Name}={real}; {Name.ToLowerInvariant()}={forged}"));

        Assert.Equal(sessionsBefore.Count, (await SqliteRows.QueryAsync(stack.Gateway.DataDirectory, "SELECT key FROM sessions")).Count);
        Assert.Equal(System.Net.HttpStatusCode.OK, await UserStatusAsync(http, stack.Origin, $"{Name}={real}"));
    }

    private static async Task<System.Net.HttpStatusCode> UserStatusAsync(HttpClient http, string origin, string cookieHeader)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{origin}/bff/user");
        request.Headers.Add("X-CSRF", "1");
        request.Headers.TryAddWithoutValidation("Cookie", cookieHeader);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static HttpRequest Request(string[] cookieHeader)
    {
        var context = new DefaultHttpContext();
        if (cookieHeader.Length > 0)
        {
            context.Request.Headers.Cookie = new StringValues(cookieHeader);
        }

        return context.Request;
    }

    private static string? ParserValue(string[] cookieHeader) => Request(cookieHeader).Cookies[Name];
}
