using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Portcullis.Primitives;

namespace Portcullis.Agent.Presets;

/// <summary>A provider API's answer: its status and, when the body is JSON, the parsed body.</summary>
internal sealed record ApiAnswer(HttpStatusCode Status, JsonElement? Json)
{
    public bool IsSuccess => (int)Status is >= 200 and < 300;
}

/// <summary>Calls to a plain OAuth 2.0 provider's own API with the user's access token (in the header, never the URL).</summary>
internal static class ProviderApi
{
    public static HttpRequestMessage Request(HttpMethod method, string url, string accessToken)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return request;
    }

    public static async Task<ApiAnswer> SendAsync(HttpClient http, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using (request)
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            try
            {
                return new ApiAnswer(response.StatusCode, body.Length == 0 ? null : JsonDocument.Parse(body).RootElement.Clone());
            }
            catch (JsonException)
            {
                return new ApiAnswer(response.StatusCode, null);
            }
        }
    }

    /// <summary>A user endpoint that refuses the token just issued is a failed login; anything else means the provider is unwell.</summary>
    public static PortcullisError UserEndpointFailure(ApiAnswer answer) =>
        answer.Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
            ? PortcullisError.LoginFailed("The identity provider did not accept the sign-in it just granted. Start the sign-in again.")
            : PortcullisError.ProviderUnavailable;

    public static string? String(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>Identifiers are numbers at GitHub and strings (snowflakes) at Discord and Facebook; the subject is always the text.</summary>
    public static string? Identifier(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString() is { Length: > 0 } text ? text : null,
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            }
            : null;

    public static bool? Bool(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : null;
}

/// <summary>Builds the claims a session keeps, under the OpenID Connect names apps already know.</summary>
internal sealed class ClaimsBuilder
{
    private readonly Dictionary<string, JsonElement> _claims = new(StringComparer.Ordinal);

    public ClaimsBuilder Add(string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            _claims[name] = JsonSerializer.SerializeToElement(value, ClaimJsonContext.Default.String);
        }

        return this;
    }

    public ClaimsBuilder Add(string name, bool? value)
    {
        if (value is { } flag)
        {
            _claims[name] = JsonSerializer.SerializeToElement(flag, ClaimJsonContext.Default.Boolean);
        }

        return this;
    }

    public Dictionary<string, JsonElement> Build() => _claims;
}

[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(bool))]
internal sealed partial class ClaimJsonContext : JsonSerializerContext;
