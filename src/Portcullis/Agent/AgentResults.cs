using System.Text.Json;
using Portcullis.Vault;

namespace Portcullis.Agent;

/// <summary>Where to send the browser to start a login, and the browser-binding secret to keep in a cookie.</summary>
internal sealed record LoginStart(string AuthorizationUrl, string BindingSecret);

/// <summary>A completed, validated login: who signed in, with which tokens, and where the app wants to go.</summary>
internal sealed record AuthenticatedLogin(
    string Provider,
    string Subject,
    string? ProviderSessionId,
    Dictionary<string, JsonElement> Claims,
    TokenSet Tokens,
    string ReturnUrl)
{
    /// <summary>When the user authenticated at the provider (<c>auth_time</c>, seconds since the epoch), if it said.</summary>
    public long? AuthTime { get; init; }

    /// <summary>The authentication context class the provider reports (<c>acr</c>), if any.</summary>
    public string? Acr { get; init; }

    /// <summary>Set when this login links a new identity to an already signed-in user.</summary>
    public string? LinkUserId { get; init; }

    public string? LinkSessionKey { get; init; }
}
