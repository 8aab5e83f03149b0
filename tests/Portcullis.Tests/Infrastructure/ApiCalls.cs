using System.Net;

namespace Portcullis.Tests.Infrastructure;

/// <summary>API calls as a browser sends them, with only a session cookie: for tests holding several sessions' cookies.</summary>
public static class ApiCalls
{
    /// <summary>GET <c>/api/orders/{path}</c> through <paramref name="origin"/> (a gateway, a node, the balancer) with the session cookie.</summary>
    public static async Task<HttpStatusCode> OrdersAsync(HttpClient http, string origin, string cookie, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{origin}/api/orders/{path}");
        request.Headers.Add("Cookie", $"__Host-portcullis={cookie}");
        request.Headers.Add("X-CSRF", "1");
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }
}
