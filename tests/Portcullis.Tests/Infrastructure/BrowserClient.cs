using System.Net;
using System.Text.RegularExpressions;

namespace Portcullis.Tests.Infrastructure;

/// <summary>
/// A minimal browser over HttpClient: a cookie jar per host that, like a browser on localhost, sends Secure cookies
/// over http; redirects followed by hand; and a record of every response (status, headers, body) it received, so
/// tests can prove no token ever reached it.
/// </summary>
public sealed partial class BrowserClient : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
    private readonly Dictionary<string, Dictionary<string, string>> _cookies = new(StringComparer.OrdinalIgnoreCase);

    public List<RecordedResponse> Responses { get; } = [];

    public Dictionary<string, string> CookiesFor(string host) =>
        _cookies.TryGetValue(host, out var jar) ? jar : _cookies[host] = new(StringComparer.Ordinal);

    public async Task<RecordedResponse> SendAsync(HttpMethod method, string url, HttpContent? content = null, IDictionary<string, string>? headers = null)
    {
        var uri = new Uri(url);
        using var request = new HttpRequestMessage(method, uri) { Content = content };
        var jar = CookiesFor(uri.Host);
        if (jar.Count > 0)
        {
            request.Headers.Add("Cookie", string.Join("; ", jar.Select(c => $"{c.Key}={c.Value}")));
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var setCookies = response.Headers.TryGetValues("Set-Cookie", out var values) ? values.ToArray() : [];
        foreach (var setCookie in setCookies)
        {
            Store(jar, setCookie);
        }

        var recorded = new RecordedResponse(
            uri,
            response.StatusCode,
            response.Headers.Concat(response.Content.Headers).ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase),
            setCookies,
            body);
        Responses.Add(recorded);
        return recorded;
    }

    public Task<RecordedResponse> GetAsync(string url, IDictionary<string, string>? headers = null) => SendAsync(HttpMethod.Get, url, null, headers);

    /// <summary>Follows redirects from <paramref name="url"/> until a non-redirect answer, returning it.</summary>
    public async Task<RecordedResponse> FollowAsync(string url, int maxHops = 20)
    {
        var response = await GetAsync(url);
        for (var hop = 0; hop < maxHops && response.IsRedirect; hop++)
        {
            response = await GetAsync(new Uri(response.Uri, response.Headers["Location"]).ToString());
        }

        return response;
    }

    /// <summary>
    /// Runs a login at the test IdP: from the gateway's /bff/login URL, through the provider's login form, to the
    /// point where the provider redirects back. Returns the callback URL without requesting it.
    /// </summary>
    public async Task<string> AuthorizeAtProviderAsync(string loginUrl, string username, string password = TestIdp.Password)
    {
        var response = await GetAsync(loginUrl);
        for (var hop = 0; hop < 30; hop++)
        {
            if (response.IsRedirect)
            {
                var next = new Uri(response.Uri, response.Headers["Location"]).ToString();
                if (next.Contains("/bff/callback/", StringComparison.Ordinal))
                {
                    return next;
                }

                response = await GetAsync(next);
            }
            else if (response.Status == HttpStatusCode.OK && LoginForm().Match(response.Body) is { Success: true } form)
            {
                var action = new Uri(response.Uri, WebUtility.HtmlDecode(form.Groups[1].Value)).ToString();
                // Keep the form's hidden fields (return URLs, anti-forgery tokens) as a browser would.
                var fields = HiddenInput().Matches(response.Body)
                    .ToDictionary(m => WebUtility.HtmlDecode(m.Groups["name"].Value), m => WebUtility.HtmlDecode(m.Groups["value"].Value));
                fields["username"] = username;
                fields["password"] = password;
                response = await SendAsync(HttpMethod.Post, action, new FormUrlEncodedContent(fields));
            }
            else
            {
                throw new InvalidOperationException($"Unexpected answer during login at {response.Uri}: {(int)response.Status} {response.Body}");
            }
        }

        throw new InvalidOperationException("Too many redirects during login.");
    }

    /// <summary>A full login: authorize at the provider, then let the gateway's callback complete it.</summary>
    public async Task<RecordedResponse> LoginAsync(string gatewayOrigin, string username = "alice", string returnUrl = "/", string password = TestIdp.Password)
    {
        var callback = await AuthorizeAtProviderAsync($"{gatewayOrigin}/bff/login?returnUrl={Uri.EscapeDataString(returnUrl)}", username, password);
        return await GetAsync(callback);
    }

    public static Dictionary<string, string> Csrf { get; } = new() { ["X-CSRF"] = "1" };

    public void Dispose() => _http.Dispose();

    private static void Store(Dictionary<string, string> jar, string setCookie)
    {
        var nameValue = setCookie.Split(';', 2)[0];
        var separator = nameValue.IndexOf('=');
        var name = nameValue[..separator].Trim();
        var value = nameValue[(separator + 1)..].Trim();
        var expired = setCookie.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase)
            || setCookie.Contains("max-age=0", StringComparison.OrdinalIgnoreCase);
        if (expired || value.Length == 0)
        {
            jar.Remove(name);
        }
        else
        {
            jar[name] = value;
        }
    }

    [GeneratedRegex("<form[^>]*action=\"([^\"]*/login[^\"]*)\"", RegexOptions.IgnoreCase)]
    private static partial Regex LoginForm();

    [GeneratedRegex("<input[^>]*type=\"hidden\"[^>]*name=\"(?<name>[^\"]*)\"[^>]*value=\"(?<value>[^\"]*)\"", RegexOptions.IgnoreCase)]
    private static partial Regex HiddenInput();
}

public sealed record RecordedResponse(Uri Uri, HttpStatusCode Status, Dictionary<string, string> Headers, string[] SetCookies, string Body)
{
    public bool IsRedirect => (int)Status is >= 300 and < 400 && Headers.ContainsKey("Location");

    /// <summary>Everything the server sent back: status, headers and body (not the request URL).</summary>
    public string Everything => $"{(int)Status}\n{string.Join('\n', Headers.Select(h => $"{h.Key}: {h.Value}"))}\n{Body}";
}
