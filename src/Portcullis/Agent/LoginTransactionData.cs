namespace Portcullis.Agent;

/// <summary>What the callback needs to finish a login; stored encrypted, keyed by the hash of <c>state</c>.</summary>
internal sealed record LoginTransactionData(string Provider, string CodeVerifier, string Nonce, string ReturnUrl, DateTimeOffset CreatedAt)
{
    /// <summary>Step-up: the longest time since the user authenticated that the ID token may show, in seconds.</summary>
    public int? MaxAge { get; init; }

    /// <summary>Step-up: the <c>acr</c> values requested; the ID token's <c>acr</c> must be one of them.</summary>
    public string? Acr { get; init; }

    /// <summary>Linking: the signed-in user this login adds an identity to (<c>POST /bff/link</c> from a live session).</summary>
    public string? LinkUserId { get; init; }

    /// <summary>Linking: the key of the session that asked for it; it must still be alive when the callback comes.</summary>
    public string? LinkSessionKey { get; init; }

    /// <summary>RFC 8707: the resource indicators this login named (every route resource of its provider, ADR 0043); the grant keeps them.</summary>
    public IReadOnlyList<string>? Resources { get; init; }

    /// <summary>DPoP: the private key made for this login (its thumbprint went out as <c>dpop_jkt</c>); the grant keeps it.</summary>
    public string? DPoPKey { get; init; }
}

/// <summary>Optional parts of a login request: step-up demands and linking to the current user.</summary>
internal sealed record LoginRequestExtras(int? MaxAge, string? Acr, string? LinkUserId, string? LinkSessionKey);
