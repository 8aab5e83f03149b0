using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Duende.IdentityModel.Client;

namespace Portcullis.Agent;

/// <summary>
/// Every token endpoint answer passes here once (<see cref="ProviderClient.WithDPoPAsync"/>) before anything reads it,
/// so no reader needs to know a provider's quirks.
/// </summary>
internal static class TokenAnswer
{
    /// <summary>
    /// <paramref name="response"/> as the gateway may use it:
    /// <list type="bullet">
    /// <item>Fields written as JSON <c>null</c> or <c>""</c> are removed. Duende.IdentityModel reads a null as an empty
    /// string, and a provider whose serializer writes every field means "none" by it: a <c>"refresh_token": null</c>
    /// kept as "" made the next refresh fail, an <c>"id_token": null</c> was refused as a forgery and ended the grant.</item>
    /// <item>A body that is not a JSON object (the library throws when it is read), or a success without an access token,
    /// becomes an answer carrying an <see cref="UnusableTokenAnswerException"/>. The request reached the provider, which
    /// may have spent a refresh token on it: callers treat it as an answer they could not read (ADR 0021), never as a
    /// refusal and never as a 500.</item>
    /// </list>
    /// The usual answer, with every field filled, is returned as it is.
    /// </summary>
    public static async Task<TokenResponse> CheckedAsync(TokenResponse response)
    {
        try
        {
            if (response.IsError)
            {
                return response;
            }

            if (string.IsNullOrEmpty(response.AccessToken))
            {
                return ProtocolResponse.FromException<TokenResponse>(new UnusableTokenAnswerException("a success without an access_token"));
            }

            return response.Json is { } json && json.EnumerateObject().Any(IsEmpty) ? await WithoutEmptyFieldsAsync(response, json) : response;
        }
        catch (InvalidOperationException exception)
        {
            return ProtocolResponse.FromException<TokenResponse>(new UnusableTokenAnswerException("a body that is not a JSON object", exception));
        }
    }

    private static bool IsEmpty(JsonProperty field) =>
        field.Value.ValueKind == JsonValueKind.Null || (field.Value.ValueKind == JsonValueKind.String && field.Value.GetString() is "");

    private static async Task<TokenResponse> WithoutEmptyFieldsAsync(TokenResponse response, JsonElement json)
    {
        var filled = new JsonObject();
        foreach (var field in json.EnumerateObject().Where(field => !IsEmpty(field)))
        {
            filled[field.Name] = JsonNode.Parse(field.Value.GetRawText());
        }

        using var rewritten = new HttpResponseMessage(response.HttpStatusCode)
        {
            Content = new StringContent(filled.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        return await ProtocolResponse.FromHttpResponseAsync<TokenResponse>(rewritten);
    }
}

/// <summary>A token endpoint's answer the gateway cannot use (<see cref="TokenAnswer.CheckedAsync"/>); its name is what the logs show.</summary>
internal sealed class UnusableTokenAnswerException : Exception
{
    public UnusableTokenAnswerException(string message)
        : base(message)
    {
    }

    public UnusableTokenAnswerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
